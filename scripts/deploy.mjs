// `npm run deploy`: runs deploy/src/cli.ts (bundled on the fly, nothing generated lands in the
// tree). See deploy/src/cli.ts for the options, and the README, "Deploy from the command line".
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTypeScript } from './run-ts.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { main } = await loadTypeScript('deploy/src/cli.ts');
const code = await main(process.argv.slice(2), root);
// Exit explicitly: a timed-out miniprogram-ci call cannot be cancelled and would keep Node alive.
process.exit(code);
