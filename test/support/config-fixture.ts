/** A targets fixture as JSON to edit, and what parseTargets says of an edited copy. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseTargets } from '../../functions/shared/config.ts';

// biome-ignore lint/suspicious/noExplicitAny: a fixture edited freely, as a user edits JSON
type Doc = any;

export const configFixture = (name: string) => {
  const path = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const doc = (): Doc => JSON.parse(readFileSync(path, 'utf8'));
  /** The refusal's message for the fixture after `edit`; throws if the edited config is accepted. */
  const refusal = (edit: (d: Doc) => void): string => {
    const d = doc();
    edit(d);
    try {
      parseTargets(d);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the config was accepted');
  };
  return { path, doc, refusal };
};
