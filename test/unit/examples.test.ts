/** The targets files in examples/ (one per system in the users' deployment guides) are valid as shipped. */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTargetsFile } from '../../functions/shared/config.ts';

const dir = fileURLToPath(new URL('../../examples/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('examples/', () => {
  it('has a targets file for each of the five systems', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s parses as a targets file', (file) => {
    const targets = loadTargetsFile(`${dir}${file}`);
    expect(targets.targets.length).toBeGreaterThan(0);
  });
});
