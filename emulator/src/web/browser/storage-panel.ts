/**
 * The console's cloud-storage browser: every file with its size, owner and upload time, a preview
 * for images, and the storage permission denials. Reads the control API only
 * (`GET /emulator/v1/storage/files`, and each file's bytes from `GET .../storage/files/<path>`,
 * which bypass permissions as the cloud console does). console.ts calls `renderStorage` when a
 * storage event arrives and `recordStorageDenial` for each `storage.denied` event.
 */
import { h } from './dom';
import { withEnv } from './env-choice';
import { t } from './lang';

interface StoredFile {
  fileID: string;
  path: string;
  size: number;
  owner: string | null;
  contentType: string;
  uploadedAt: string;
}

function box(role: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`[data-role="${role}"]`);
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const fileUrl = (cloudPath: string): string =>
  withEnv(`/emulator/v1/storage/files/${cloudPath.split('/').map(encodeURIComponent).join('/')}`);

export async function renderStorage(): Promise<void> {
  const s = t();
  const target = box('storage-files');
  if (!target) return;
  const response = await fetch(withEnv('/emulator/v1/storage/files'));
  if (!response.ok) throw new Error(`storage/files answered ${response.status}`);
  const { files } = (await response.json()) as { files: StoredFile[] };
  if (!files.length) {
    target.replaceChildren(h('p', { class: 'empty' }, s.noFiles));
    return;
  }
  // In a scrolling region, like the database table: long paths never widen the page.
  target.replaceChildren(
    h(
      'div',
      { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': s.storageFiles },
      h(
        'table',
        { class: 'docs', 'data-role': 'storage-table' },
        h('thead', {}, h('tr', {}, ...s.storageColumns.map((label) => h('th', {}, label)))),
        h(
          'tbody',
          {},
          ...files.map((file) =>
            h(
              'tr',
              { 'data-role': 'storage-file', 'data-path': file.path, title: file.fileID },
              h(
                'td',
                {},
                file.contentType.startsWith('image/')
                  ? h('img', {
                      src: fileUrl(file.path),
                      alt: file.path,
                      class: 'thumb',
                      'data-role': 'storage-thumb',
                      loading: 'lazy',
                      width: '48',
                      height: '32',
                    })
                  : h(
                      'a',
                      { href: fileUrl(file.path), target: '_blank', rel: 'noopener' },
                      s.openFile,
                    ),
              ),
              h('td', {}, h('code', {}, file.path)),
              h('td', {}, size(file.size)),
              h('td', {}, file.owner ?? s.admin),
              h('td', {}, file.uploadedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
            ),
          ),
        ),
      ),
    ),
  );
}

const denials: Record<string, unknown>[] = [];

export function recordStorageDenial(data: Record<string, unknown> | null): void {
  if (data === null) denials.length = 0;
  else denials.push(data);
  renderStorageDenials();
}

export function renderStorageDenials(): void {
  const s = t();
  const target = box('storage-denials');
  if (!target) return;
  target.replaceChildren(
    ...denials
      .slice(-20)
      .reverse()
      .map((d) =>
        h(
          'li',
          { 'data-role': 'storage-denial' },
          h('strong', {}, `${String(d.action)} ${String(d.path ?? '')}`),
          s.by(String(d.openid ?? s.linkHolder)),
          ' · ',
          h(
            'code',
            {},
            d.reason
              ? String(d.reason)
              : `${String(d.permission)} ${String(d.operation)}: ${JSON.stringify(d.rule)}`,
          ),
        ),
      ),
  );
}
