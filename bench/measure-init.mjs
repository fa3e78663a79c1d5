// Child of bench/cold-start.ts: imports one bundled handler in a fresh Node process (as a Lambda
// cold start does) and prints, in ms, Node's own start (from the process's start to this module's
// first line) and the module initialisation, as JSON. Given an event (argv[3], JSON), it then invokes
// the handler once with it and prints that first invocation's time too.
const started = performance.now();
const { handler } = await import(process.argv[2]);
const initMs = performance.now() - started;
let firstCallMs;
if (process.argv[3] !== undefined) {
  const context = { functionName: 'bench', awsRequestId: 'bench-1', getRemainingTimeInMillis: () => 30_000 };
  const calledAt = performance.now();
  await handler(JSON.parse(process.argv[3]), context);
  firstCallMs = performance.now() - calledAt;
}
// The SDK keeps its connection open (keep-alive): end here, as Lambda freezes the environment.
process.stdout.write(JSON.stringify({ startMs: started, initMs, firstCallMs }), () => process.exit(0));
