/**
 * The browser preview and the emulator console, mounted on the emulator's HTTP app when it starts
 * with `preview: true` (`wxcloud-emulator start --preview`, what `npm start` runs):
 *
 *   GET /                  the console (collections, invocations, payments, denials, controls)
 *                          with the phone preview beside it
 *   GET /preview/          the phone frame: the project's page rendered with j-component
 *   GET /preview/app/...   the project's miniprogramRoot files, made browser-ready at request
 *                          time (WXML and WXSS converted, TypeScript compiled), so editing a page
 *                          file and reloading shows the change
 *   GET /assets/...        the preview's and console's own scripts and styles
 *
 * The emulator never imports the app: it serves whatever folder project.config.json names. The
 * console reads only the control API (/emulator/v1/...).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Context, Hono } from 'hono';
import type { EmulatorContext } from '../service';
import { BrowserAssets, locateBrowserSources } from './assets';
import { consoleHtml, previewHtml } from './html';
import { langOfAcceptLanguage, type Lang } from './i18n';
import { convertWxss, prepareWxml } from './wxss';

/** The project's miniprogramRoot (project.config.json), or undefined when it names none. */
export function miniprogramRootOf(projectDir: string): string | undefined {
  const file = path.join(projectDir, 'project.config.json');
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { miniprogramRoot?: unknown };
  return typeof parsed.miniprogramRoot === 'string'
    ? path.resolve(projectDir, parsed.miniprogramRoot)
    : undefined;
}

const NO_STORE = { 'cache-control': 'no-store' };

/** A file under `root` named by a URL path; undefined for anything that escapes it. */
function fileUnder(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  return file.startsWith(root + path.sep) ? file : undefined;
}

export interface Preview {
  /** Resolves once the browser bundles are built (rejects with the build error). */
  ready: Promise<void>;
}

export function mountPreview(app: Hono, ctx: EmulatorContext): Preview {
  const assets = new BrowserAssets(locateBrowserSources());
  const ready = assets.build();
  // A failed build is reported by the routes that need it; keep it from being unhandled here.
  ready.catch(() => undefined);

  // In the browser's language first; the page then applies the user's remembered choice.
  const langOf = (c: Context): Lang => langOfAcceptLanguage(c.req.header('accept-language'));
  app.get('/', (c) => c.html(consoleHtml(langOf(c))));
  app.get('/preview', (c) => c.redirect('/preview/'));
  app.get('/preview/', (c) => c.html(previewHtml(langOf(c))));

  app.get('/assets/:name', async (c) => {
    const asset = await assets.get(c.req.param('name'));
    if (!asset) return c.text(`no asset ${c.req.param('name')}`, 404);
    return c.body(asset.body, 200, { 'content-type': asset.type, ...NO_STORE });
  });

  app.get('/preview/app/*', async (c) => {
    const root = miniprogramRootOf(ctx.config.projectDir);
    if (!root || !fs.existsSync(root)) {
      return c.text(
        `no mini-program to preview: project.config.json in ${ctx.config.projectDir} names no existing miniprogramRoot`,
        404,
      );
    }
    const rest = c.req.path.slice('/preview/app/'.length);
    const file = fileUnder(root, rest);
    if (!file) return c.text(`not a file of the mini-program: ${rest}`, 400);
    const ext = path.extname(file);
    const base = file.slice(0, -ext.length);
    if (ext === '.js') {
      // The page's code: its TypeScript (or JavaScript) bundled with its imports, as DevTools
      // compiles it (types stripped, not checked).
      const source = [`${base}.ts`, `${base}.js`].find((f) => fs.existsSync(f));
      if (!source) return c.text(`no ${path.relative(root, base)}.ts or .js`, 404);
      const compiled = await assets.compilePage(source, root);
      if ('error' in compiled) return c.text(compiled.error, 500, NO_STORE);
      return c.body(compiled.code, 200, { 'content-type': 'text/javascript', ...NO_STORE });
    }
    if (!['.wxml', '.wxss', '.json'].includes(ext)) {
      return c.text(`the preview serves .wxml, .wxss, .json and compiled .js, not ${ext}`, 400);
    }
    if (!fs.existsSync(file)) return c.text(`no ${path.relative(root, file)}`, 404, NO_STORE);
    const text = fs.readFileSync(file, 'utf8');
    if (ext === '.wxml') {
      return c.body(prepareWxml(text), 200, { 'content-type': 'text/plain', ...NO_STORE });
    }
    if (ext === '.wxss') {
      return c.body(convertWxss(text), 200, { 'content-type': 'text/css', ...NO_STORE });
    }
    return c.body(text, 200, { 'content-type': 'application/json', ...NO_STORE });
  });

  return { ready };
}
