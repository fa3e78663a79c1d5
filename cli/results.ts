/**
 * What every CLI command shares, with no imports of its own: where it writes, what it returns, and
 * the refusal it throws. A leaf module, so the backends, the commands and the local approval wait
 * can all use it without importing each other.
 */

export interface Output {
  /** Human lines (progress, tables). */
  line: (text: string) => void;
}

export interface CommandResult {
  /** 0 done as asked, 1 ran but ended otherwise. Refusals throw UsageError (exit 2). */
  exitCode: 0 | 1;
  json: unknown;
}

/** A request refused with a reason a person can act on (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
