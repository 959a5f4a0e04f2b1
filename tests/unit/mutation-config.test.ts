import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run mutation` kills mutants only with the tests its jest configs name. A renamed or split
 * test file left out of those lists costs the score silently (the server half fell from 98.7% to
 * 81% when payment-edges.test.ts was split), so every name listed must still be a test file.
 */
const ROOT = path.resolve(__dirname, '../..');
const CONFIGS = [
  'stryker.jest.config.js',
  'stryker.emulator.jest.config.js',
  'stryker.rules.jest.config.js',
];

/** The files one testMatch entry names: a `{a,b}` group expanded, a `*` file name listed. */
function filesNamed(pattern: string): string[] {
  const relative = pattern.replace('<rootDir>/', '');
  const group = /\{([^}]+)\}/.exec(relative);
  const paths = group
    ? group[1].split(',').map((alt) => relative.replace(group[0], alt))
    : [relative];
  return paths.flatMap((p) => {
    if (!p.includes('*')) return [p];
    const dir = path.dirname(p);
    const suffix = path.basename(p).replace('*', '');
    return readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith(suffix))
      .map((f) => path.join(dir, f));
  });
}

describe.each(CONFIGS)('%s', (config) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { testMatch } = require(path.join(ROOT, config)) as { testMatch: string[] };

  it.each(testMatch)('names only test files that exist: %s', (pattern) => {
    const files = filesNamed(pattern);
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !existsSync(path.join(ROOT, f)))).toEqual([]);
  });
});
