/**
 * The settings every Switchyard function deploys with. The stack (infra/constructs/release-function.ts),
 * the local runtime's Lambda model (local/execution-environments.ts) and the cold-start benchmark
 * read them from here, so what is modelled and measured is what deploys.
 */

/**
 * Memory of every function: 1,769 MB, one full vCPU (docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html:
 * CPU in proportion to memory, one vCPU at 1,769 MB). A function's init is CPU-bound (Node's start and
 * the module initialisation, 275-310 ms on one core as deployed: `npm run bench`), so at 512 MB
 * (0.29 vCPU) it took 0.95-1.07 s, and a release ran 13-31 of them, most on its critical path: each
 * step after an AWS wait of 5 minutes or more started cold (the warm-ups, functions/shared/keep-warm.ts,
 * now leave those at a release's start, and whenever Lambda does not reuse an idle environment). At
 * one vCPU it takes as long as on the
 * measuring core (the local runtime models 350 ms). The price: Lambda bills GB-seconds, so a
 * release's Lambda cost roughly doubles, from about $0.00015 to $0.0003 at the all-at-once release's
 * figures (the bench prints it), beside $0.0009 of Step Functions transitions. Above 1,769 MB the
 * second vCPU would not shorten a single-threaded init.
 */
export const FUNCTION_MEMORY_MB = 1_769;

/**
 * The functions' `NODE_OPTIONS`: stack traces in their logs point at the TypeScript source, through
 * the source map shipped beside each bundle. The cost is paid at every cold start (Node reads and
 * parses the map as the bundle loads: acquire-lock 164 -> 186 ms median module initialisation, 11
 * interleaved runs, 2026-12-03, when the map carried the sources' text; infra/bundling.ts leaves that
 * out since), so the cold-start benchmark runs with it too.
 */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';
