/**
 * Who people are, and the free text they type. An identity (an approver's email, a CLI user name,
 * an IAM principal ARN, a requester) is compared trimmed and case-folded, so `Alice@Example.com `
 * and `alice@example.com` are one person. Free text never carries control characters: a newline in
 * a name or a reason could forge a line (`Approve: https://…`) in an approver's email or in Slack.
 */
import * as z from 'zod';

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
export const isControlCharacter = (char: string): boolean => {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
};

/** Why `text` may not be used as `what`, or undefined when it may. */
export const controlCharacterProblem = (what: string, text: string): string | undefined => {
  const at = [...text].findIndex(isControlCharacter);
  if (at < 0) return undefined;
  const code = [...text][at]?.codePointAt(0)?.toString(16).padStart(4, '0');
  return `${what} contains a control character (U+${code}, e.g. a newline) at position ${at + 1}; write it on one line without control characters`;
};

/** The form identities are compared and stored in. */
export const normaliseIdentity = (raw: string): string => raw.trim().toLowerCase();

/** zod: text a person typed, on one line. */
export const oneLine = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      const problem = controlCharacterProblem('the text', text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** zod: an identity, normalised. */
export const identitySchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'must not be empty')
  .max(256)
  .superRefine((text, ctx) => {
    const problem = controlCharacterProblem('the name', text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Every name an approver is known by (their id, aliases, `slack:<user id>`), mapped to their id. A plain
 * object read with `Object.hasOwn` only: a name like `constructor` or `__proto__` is never found on
 * the prototype.
 */
export type IdentityMap = Record<string, string>;

export const identityMap = (
  approvers: readonly { id: string; aliases?: readonly string[]; slackUserId?: string }[],
): IdentityMap => {
  const map: IdentityMap = Object.create(null);
  for (const a of approvers) {
    const id = normaliseIdentity(a.id);
    // A Slack user id is only ever matched as one (`slack:U…`), never as a typed name.
    for (const name of [a.id, ...(a.aliases ?? []), ...(a.slackUserId ? [`slack:${a.slackUserId}`] : [])]) {
      map[normaliseIdentity(name)] = id;
    }
  }
  return { ...map };
};

/** The approver id `raw` names in `map`, else `raw` normalised (someone who is not an approver). */
export const resolveIdentity = (map: IdentityMap | undefined, raw: string): string => {
  const name = normaliseIdentity(raw);
  return map && Object.hasOwn(map, name) ? (map[name] as string) : name;
};
