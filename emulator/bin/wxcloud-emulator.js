#!/usr/bin/env node
// The package's command. npm links a package's bin while it installs, BEFORE `prepare` builds
// dist/, and skips the link when the target does not exist yet: a bin pointing at dist/cli.js
// left `npx wxcloud-emulator` "not found" after a fresh clone's first `npm install`. This file is
// committed, so the link always exists; it loads the built CLI, or says how to build it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(
    `wxcloud-emulator is not built yet (no ${cli}): run \`npm run build\` in the project, then try again.\n`,
  );
  process.exit(1);
}
require(cli);
