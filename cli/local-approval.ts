/**
 * Approvals with `--local`. A local release lives only in the process running it, so when one
 * waits for approval, `switchyard --local release` keeps serving the approval page on loopback and
 * drops each approver's email into `<state>/outbox/` (the simulated inbox). `switchyard --local
 * approve|reject` in another terminal reads the `--as` approver's email there and presses the
 * button on the page: the same signed-link POST a person makes, not a shortcut.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvalEmails, approvalsOf, decideThroughPage, pageText } from '../local/approver.ts';
import type { LocalRuntime } from '../local/runtime.ts';
import { type CommandResult, type Output, UsageError } from './results.ts';

const outbox = (stateDir: string) => join(stateDir, 'outbox');
const fileOf = (stateDir: string, releaseId: string, approver: string) =>
  join(outbox(stateDir), `${releaseId}.${approver}.txt`);

/** A release whose approval request has gone out and which now waits for a person, if any. */
export const parkedForApproval = (runtime: LocalRuntime, seen: Set<string>): string | undefined => {
  if ((runtime.lambda.running.get('request-approval') ?? 0) > 0) return undefined;
  return runtime.sfn
    .running()
    .map((e) => e.name)
    .find((name) => !seen.has(name) && approvalEmails(runtime, name).length > 0);
};

/** Writes the emails to the outbox, tells the user how to decide, and waits in real time for it. */
export const waitForApproval = async (
  runtime: LocalRuntime,
  stateDir: string,
  releaseId: string,
  say: (line: string) => void,
  realMs: number,
  /** Saves the account as it is now, parked: `switchyard dashboard --local` then shows the wait. */
  checkpoint?: () => Promise<void>,
) => {
  mkdirSync(outbox(stateDir), { recursive: true });
  await checkpoint?.();
  const emails = approvalEmails(runtime, releaseId);
  for (const email of emails) {
    writeFileSync(fileOf(stateDir, releaseId, email.to[0] ?? 'unknown'), email.body);
  }
  const approvers = emails.map((e) => e.to[0]);
  say(`release ${releaseId} waits for approval by ${approvers.join(' or ')}. Open an approval link:`);
  for (const email of emails) {
    say(`  ${email.to[0]}: ${email.body.match(/^Approve: (\S+)$/m)?.[1] ?? '?'}`);
  }
  say(
    `or, in another terminal: switchyard --local --state ${stateDir} approve --release ${releaseId} --as ${approvers[0]}`,
  );
  say(`(waiting up to ${Math.round(realMs / 1000)} s; virtual time stands still meanwhile)`);
  const decided = await runtime.waitForPeople(
    async () => (await approvalsOf(runtime, releaseId)).some((a) => a.status !== 'PENDING'),
    realMs,
  );
  if (!decided) say('nobody decided here in time; the release now runs into its approval timeout');
};

/** `switchyard --local approve|reject`: presses the button on the page from the `--as` approver's email. */
export const decideLocally = async (
  stateDir: string,
  out: Output,
  options: { releaseId: string; action: 'approve' | 'reject'; reason?: string; by: string },
): Promise<CommandResult> => {
  const file = fileOf(stateDir, options.releaseId, options.by.toLowerCase());
  if (!existsSync(file)) {
    const asked = existsSync(outbox(stateDir))
      ? readdirSync(outbox(stateDir))
          .filter((f) => f.startsWith(`${options.releaseId}.`))
          .map((f) => f.slice(options.releaseId.length + 1, -'.txt'.length))
      : [];
    throw new UsageError(
      asked.length === 0
        ? `release ${options.releaseId} has not asked for approval here (nothing in ${outbox(stateDir)})`
        : `no approval link was sent to ${options.by} for ${options.releaseId}; asked: ${asked.join(', ')} (use --as)`,
    );
  }
  const pattern = options.action === 'approve' ? /^Approve: (\S+)$/m : /^Reject: +(\S+)$/m;
  const link = readFileSync(file, 'utf8').match(pattern)?.[1];
  if (!link) throw new UsageError(`${file} holds no ${options.action} link`);
  let outcome: Awaited<ReturnType<typeof decideThroughPage>>;
  try {
    outcome = await decideThroughPage(link, options.action, options.reason);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw error;
    throw new UsageError(
      `release ${options.releaseId} is not waiting in a running local process: locally, a release waits for approval only while its \`switchyard --local release\` runs`,
    );
  }
  const { page, result } = outcome;
  const said = pageText(result.body || page.body);
  if (page.status !== 200 || ![200, 202].includes(result.status)) {
    throw new UsageError([said.result, said.decision].filter(Boolean).join(' '));
  }
  out.line([said.result, said.decision].filter(Boolean).join(' '));
  return {
    exitCode: 0,
    json: {
      releaseId: options.releaseId,
      status: result.status,
      result: said.result,
      decision: said.decision,
    },
  };
};
