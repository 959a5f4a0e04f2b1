// Jest's global setup: builds the bundles the integration, page and e2e tiers run
// (cloudfunctions/*/index.js, emulator/dist) before any test, so `npx jest` after an edit tests
// the same code as `npm test`. The build is esbuild (well under a second here) plus tsc for the
// emulator's declarations only when an emulator source changed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default async function buildBundles() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch (err) {
    throw new Error(
      `jest global setup: the bundles could not be built, so the tests would run stale code; run \`npm run build\` to see why, fix it and retry (${err.message})`,
    );
  }
}
