// The size of each deployed function: cloudfunctions/<name>/index.js as scripts/build.mjs
// bundles it (wx-server-sdk stays external: the cloud installs it from package.json).

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface BundleSize {
  name: string;
  bytes: number;
  gzipBytes: number;
}

export function bundleSizes(root: string): BundleSize[] {
  const dir = path.join(root, 'cloudfunctions');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'index.js')))
    .map((d) => {
      const code = fs.readFileSync(path.join(dir, d.name, 'index.js'));
      return {
        name: d.name,
        bytes: code.length,
        gzipBytes: zlib.gzipSync(code, { level: 9 }).length,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
