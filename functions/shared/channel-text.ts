/**
 * Free text made safe for each channel it is shown in. Inputs refuse control characters
 * (identity.ts), but text also comes from stored records, AWS and earlier versions, so every
 * channel escapes what it shows as well:
 * - email (plain text): one line per value, so no value can start a line of its own (a forged
 *   `Approve: https://…` line);
 * - Slack mrkdwn: `&`, `<` and `>`, the three characters Slack asks apps to escape (a `<url|text>`
 *   link or an `<!channel>` mention cannot be smuggled in);
 * - Teams Adaptive Cards: the brackets of a markdown link, backslash-escaped;
 * - HTML: the approval page escapes its own (functions/approvals/page.ts).
 */
import { isControlCharacter } from './identity.ts';

/** One line of plain text: each control character becomes a visible `�`. */
export const plainLine = (text: string): string =>
  Array.from(text, (char) => (isControlCharacter(char) ? '\uFFFD' : char)).join('');

/** Text for a Slack mrkdwn or plain_text field (https://api.slack.com/reference/surfaces/formatting#escaping). */
export const slackText = (text: string): string =>
  plainLine(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Text for a Teams Adaptive Card TextBlock or fact. Their markdown is a CommonMark subset whose only
 * active construct a value could abuse is a link, `[text](url)`: its brackets are backslash-escaped
 * (https://learn.microsoft.com/adaptive-cards/create/textfeatures).
 */
export const teamsText = (text: string): string => plainLine(text).replace(/[\\[\]]/g, '\\$&');
