/**
 * The browser side of the preview and console, built with esbuild when the emulator starts (about
 * half a second), so what the browser runs always matches the sources next to it. esbuild is
 * loaded only here, only when the preview is on: the emulator itself runs without it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as Esbuild from 'esbuild';

/** The folder of browser sources (`preview.ts`, `console.ts`, `*.css`), from source or dist. */
export function locateBrowserSources(): string {
  const candidates = [
    path.join(__dirname, 'browser'), // running from emulator/src/web (tests)
    path.resolve(__dirname, '../src/web/browser'), // running from emulator/dist/cli.js
    path.resolve(__dirname, '../../src/web/browser'), // running from emulator/dist/web/*.js
  ];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'preview.ts')));
  if (!found) {
    throw new Error(
      `the preview's browser sources are missing (looked in ${candidates.join(', ')})`,
    );
  }
  return found;
}

async function loadEsbuild(): Promise<typeof Esbuild> {
  try {
    return await import('esbuild');
  } catch {
    throw new Error(
      'the preview compiles pages with esbuild, which is not installed: run `npm install esbuild`',
    );
  }
}

export interface Asset {
  body: string;
  type: string;
}

const ENTRIES = ['preview', 'console'] as const;

export class BrowserAssets {
  private built: Promise<Map<string, Asset>> | undefined;

  constructor(private readonly dir: string) {}

  /** Builds both bundles (once); rejects with esbuild's messages. */
  async build(): Promise<void> {
    await this.bundles();
  }

  private bundles(): Promise<Map<string, Asset>> {
    this.built ??= (async () => {
      const esbuild = await loadEsbuild();
      const result = await esbuild.build({
        entryPoints: ENTRIES.map((name) => path.join(this.dir, `${name}.ts`)),
        outdir: '/',
        bundle: true,
        write: false,
        minify: true,
        format: 'iife',
        platform: 'browser',
        target: 'es2020',
        // j-component and the database client are CommonJS written for Node: `global` is the
        // only Node name they use (platform-facts §5).
        define: { global: 'globalThis' },
        legalComments: 'none',
        logLevel: 'silent',
      });
      const map = new Map<string, Asset>();
      for (const out of result.outputFiles) {
        map.set(path.basename(out.path), { body: out.text, type: 'text/javascript' });
      }
      for (const css of fs.readdirSync(this.dir).filter((f) => f.endsWith('.css'))) {
        map.set(css, { body: fs.readFileSync(path.join(this.dir, css), 'utf8'), type: 'text/css' });
      }
      return map;
    })();
    return this.built;
  }

  async get(name: string): Promise<Asset | undefined> {
    return (await this.bundles()).get(name);
  }

  /**
   * Compiles one page script (TypeScript or JavaScript) with its relative imports into a script
   * the preview runs; imports outside the mini-program root are refused, as WeChat would not
   * package them.
   */
  async compilePage(file: string, root: string): Promise<{ code: string } | { error: string }> {
    const esbuild = await loadEsbuild();
    try {
      const result = await esbuild.build({
        entryPoints: [file],
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        target: 'es2020',
        sourcemap: 'inline',
        sourceRoot: '/preview/app/',
        absWorkingDir: root,
        logLevel: 'silent',
        plugins: [
          {
            name: 'stay-in-miniprogram-root',
            setup(build) {
              build.onResolve({ filter: /.*/ }, (args) => {
                if (args.kind === 'entry-point') return undefined;
                const target = path.resolve(args.resolveDir, args.path);
                if (!args.path.startsWith('.') || !target.startsWith(root + path.sep)) {
                  return {
                    errors: [
                      {
                        text: `"${args.path}" is outside the mini-program root; the preview bundles relative imports inside ${root} only`,
                      },
                    ],
                  };
                }
                return undefined;
              });
            },
          },
        ],
      });
      return { code: result.outputFiles[0].text };
    } catch (err) {
      const failure = err as { errors?: Esbuild.Message[]; message?: string };
      const text = failure.errors?.length
        ? failure.errors
            .map((e) =>
              e.location
                ? `${path.relative(root, e.location.file)}:${e.location.line}:${e.location.column}: ${e.text}`
                : e.text,
            )
            .join('\n')
        : String(failure.message ?? err);
      return { error: `could not compile ${path.relative(root, file)}:\n${text}` };
    }
  }
}
