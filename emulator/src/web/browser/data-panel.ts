/**
 * The database panel, as the cloud console's database page: the collections with their counts,
 * a collection's documents, and one document open in an editor (its relaxed EJSON as text) to
 * save, delete (after a confirmation) or add; export and import of the whole database. Every
 * change goes through the control API's document routes (`/collections/{name}/documents[/{id}]`,
 * `/database/export`, `/database/import`), which bypass security rules as the cloud console does
 * and write through the store, so the page preview's watches see each change.
 *
 * The editor is rendered only when it opens, saves or switches language, never on the events
 * that re-read the table, so what is being typed survives live updates.
 */
import { api, button, el, empty, h, pretty, short, type Json } from './dom';
import { withEnv } from './env-choice';
import { t } from './lang';

type DocId = string | number;
type Editor =
  | {
      mode: 'edit';
      collection: string;
      id: DocId;
      text: string;
      error: string;
      confirming: boolean;
    }
  | { mode: 'add'; collection: string; text: string; error: string; confirming: false };

let selected: string | undefined;
let editor: Editor | undefined;
let pendingImport: { name: string; file: { collections: Record<string, unknown> } } | undefined;

/** A document route in the env the console shows (env-choice.ts). */
const docRoute = (collection: string, id?: DocId): string =>
  withEnv(
    `/collections/${encodeURIComponent(collection)}/documents${id === undefined ? '' : `/${encodeURIComponent(String(id))}`}`,
  );

function say(text: string): void {
  el('data-result').textContent = text;
}

// ---- collections and documents ------------------------------------------------------------------

export async function renderCollections(): Promise<void> {
  const { collections } = await api<{
    collections: { name: string; count: number; permission: string }[];
  }>('GET', withEnv('/collections'));
  (el('db-export') as HTMLAnchorElement).href = `/emulator/v1${withEnv('/database/export')}`;
  if (!selected || !collections.some((c) => c.name === selected)) selected = collections[0]?.name;
  el('collections').replaceChildren(
    ...collections.map((c) => {
      const tab = h(
        'button',
        { type: 'button', 'aria-pressed': String(c.name === selected), 'data-collection': c.name },
        `${c.name} `,
        h('span', { class: 'count' }, String(c.count)),
        ' ',
        // What a mini-program meets: a basic permission or CUSTOM security rules.
        h('span', { class: 'permission', title: t().clientPermission }, c.permission),
      );
      tab.addEventListener('click', () => {
        selected = c.name;
        void renderCollections();
      });
      return tab;
    }),
  );
  await renderDocuments();
}

async function renderDocuments(): Promise<void> {
  const s = t();
  const box = el('documents');
  (el('doc-add') as HTMLButtonElement).disabled = !selected;
  if (!selected) {
    box.replaceChildren(empty(s.noCollections));
    return;
  }
  const collection = selected;
  const { documents } = await api<{ documents: Json[] }>('GET', docRoute(collection));
  if (!documents.length) {
    box.replaceChildren(empty(s.emptyCollection(collection)));
    return;
  }
  const keys: string[] = [];
  for (const doc of documents)
    for (const key of Object.keys(doc)) if (!keys.includes(key)) keys.push(key);
  const shown = keys.slice(0, 8);
  const editing =
    editor?.mode === 'edit' && editor.collection === collection ? editor.id : undefined;
  box.replaceChildren(
    h(
      'div',
      {
        class: 'table-wrap',
        tabindex: '0',
        role: 'region',
        'aria-label': s.documentsOf(collection),
      },
      h(
        'table',
        { class: 'docs', 'data-collection': collection },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, ''), ...shown.map((k) => h('th', { scope: 'col' }, k))),
        ),
        h(
          'tbody',
          {},
          ...documents.map((doc) => {
            const id = doc._id as DocId;
            return h(
              'tr',
              {
                'data-role': 'document',
                'data-id': String(id),
                'aria-current': id === editing ? 'true' : undefined,
              },
              h(
                'td',
                {},
                button(
                  {
                    class: 'small',
                    'data-role': 'doc-open',
                    'aria-label': s.openDocument(String(id)),
                  },
                  s.open,
                  () => void openDocument(collection, id),
                ),
              ),
              ...shown.map((k) =>
                h('td', { title: pretty(doc[k]) }, k in doc ? short(doc[k]) : ''),
              ),
            );
          }),
        ),
      ),
    ),
    keys.length > shown.length
      ? h('p', { class: 'empty' }, s.moreFields(keys.length - shown.length))
      : '',
  );
}

// ---- the document editor ------------------------------------------------------------------------

async function openDocument(collection: string, id: DocId): Promise<void> {
  try {
    const { document } = await api<{ document: Json }>('GET', docRoute(collection, id));
    editor = { mode: 'edit', collection, id, text: pretty(document), error: '', confirming: false };
  } catch (err) {
    say((err as Error).message);
    return;
  }
  renderEditor(true);
  void renderDocuments();
}

const NEW_DOCUMENT = '{\n  \n}';

function openNew(): void {
  if (!selected) return;
  editor = { mode: 'add', collection: selected, text: NEW_DOCUMENT, error: '', confirming: false };
  renderEditor(true);
}

function closeEditor(): void {
  editor = undefined;
  renderEditor(false);
  void renderDocuments();
}

/** Keeps what was typed when the editor is rebuilt (language switch). */
function keepTyped(): void {
  const area = document.querySelector<HTMLTextAreaElement>('[data-role="doc-text"]');
  if (editor && area) editor.text = area.value;
}

/**
 * The text as a document, or the reason it is not one (said in the editor; nothing is sent).
 * JSON.parse's own message names the position of the mistake.
 */
function parseDocument(text: string): { doc: Json } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: t().invalidJson((err as Error).message) };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { error: t().notAnObject };
  }
  return { doc: parsed as Json };
}

async function save(): Promise<void> {
  keepTyped();
  const current = editor;
  if (!current) return;
  const s = t();
  say(''); // the outcome of this save, not of the one before
  const parsed = parseDocument(current.text);
  if ('error' in parsed) {
    current.error = parsed.error;
    renderEditor(true);
    return;
  }
  try {
    const answer =
      current.mode === 'add'
        ? await api<{ id: DocId; document: Json }>('POST', docRoute(current.collection), parsed.doc)
        : await api<{ id: DocId; document: Json }>(
            'PUT',
            docRoute(current.collection, current.id),
            parsed.doc,
          );
    say(
      current.mode === 'add'
        ? s.added(current.collection, String(answer.id))
        : s.saved(current.collection, String(answer.id)),
    );
    // The stored document, as the emulator now holds it (a new one with its generated _id).
    editor = {
      mode: 'edit',
      collection: current.collection,
      id: answer.id,
      text: pretty(answer.document),
      error: '',
      confirming: false,
    };
  } catch (err) {
    current.error = s.saveFailed((err as Error).message);
  }
  renderEditor(true);
  void renderDocuments();
}

async function remove(): Promise<void> {
  const current = editor;
  if (current?.mode !== 'edit') return;
  try {
    await api('DELETE', docRoute(current.collection, current.id));
    say(t().deleted(current.collection, String(current.id)));
    closeEditor();
  } catch (err) {
    current.error = t().saveFailed((err as Error).message);
    current.confirming = false;
    renderEditor(true);
  }
}

function renderEditor(focus: boolean): void {
  const box = el('doc-editor');
  const current = editor;
  if (!current) {
    box.replaceChildren();
    return;
  }
  const s = t();
  const area = h(
    'textarea',
    {
      id: 'doc-text',
      'data-role': 'doc-text',
      rows: String(Math.min(18, Math.max(6, current.text.split('\n').length + 1))),
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': 'doc-hint doc-error',
      'aria-invalid': current.error ? 'true' : undefined,
    },
    current.text,
  ) as HTMLTextAreaElement;
  const confirmRow =
    current.mode === 'edit' && current.confirming
      ? h(
          'div',
          { class: 'editor__confirm', role: 'group', 'data-role': 'doc-confirm' },
          h('p', {}, s.confirmDelete(current.collection, String(current.id))),
          button(
            { class: 'danger', 'data-role': 'doc-delete-confirm' },
            s.deleteForGood,
            () => void remove(),
          ),
          button({ 'data-role': 'doc-delete-keep' }, s.keep, () => {
            current.confirming = false;
            renderEditor(false);
          }),
        )
      : null;
  const form = h(
    'form',
    {
      class: 'editor',
      'data-role': 'doc-form',
      'data-mode': current.mode,
      'data-collection': current.collection,
      'data-id': current.mode === 'edit' ? String(current.id) : undefined,
    },
    h(
      'h3',
      {},
      current.mode === 'edit'
        ? s.editing(current.collection, String(current.id))
        : s.adding(current.collection),
    ),
    h('label', { for: 'doc-text' }, s.documentText),
    area,
    h('p', { id: 'doc-hint', class: 'editor__hint' }, s.editorHint),
    h(
      'p',
      { id: 'doc-error', class: 'editor__error', role: 'alert', 'data-role': 'doc-error' },
      current.error,
    ),
    h(
      'div',
      { class: 'editor__actions' },
      h('button', { type: 'submit', 'data-role': 'doc-save' }, s.save),
      button({ 'data-role': 'doc-close' }, s.close, closeEditor),
      current.mode === 'edit'
        ? button({ class: 'danger', 'data-role': 'doc-delete' }, s.delete, () => {
            keepTyped();
            current.confirming = true;
            renderEditor(false);
            document.querySelector<HTMLElement>('[data-role="doc-delete-keep"]')?.focus();
          })
        : null,
    ),
    confirmRow,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });
  box.replaceChildren(form);
  if (focus) {
    area.focus();
    // A new document: the cursor on its empty line, ready for the first field.
    if (current.mode === 'add' && current.text === NEW_DOCUMENT) area.setSelectionRange(4, 4);
    form.scrollIntoView({ block: 'nearest' });
  }
}

// ---- export and import --------------------------------------------------------------------------

async function chooseImport(input: HTMLInputElement): Promise<void> {
  const file = input.files?.[0];
  input.value = ''; // the same file can be chosen again
  if (!file) return;
  const s = t();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await file.text());
  } catch (err) {
    say(s.importNotJson(file.name, (err as Error).message));
    return;
  }
  const collections = (parsed as { collections?: unknown } | null)?.collections;
  if (!collections || typeof collections !== 'object' || Array.isArray(collections)) {
    // Not an export file: the emulator says what it expects, and imports nothing.
    await runImport(parsed);
    return;
  }
  pendingImport = {
    name: file.name,
    file: parsed as { collections: Record<string, unknown> },
  };
  renderImportConfirm();
  document.querySelector<HTMLElement>('[data-role="import-cancel"]')?.focus();
}

async function runImport(file: unknown): Promise<void> {
  pendingImport = undefined;
  renderImportConfirm();
  try {
    const answer = await api<{ collections: number; documents: number }>(
      'POST',
      withEnv('/database/import'),
      file,
    );
    say(t().imported(answer.documents, answer.collections));
  } catch (err) {
    say(t().importFailed((err as Error).message));
  }
}

function renderImportConfirm(): void {
  const box = el('import-confirm');
  const pending = pendingImport;
  if (!pending) {
    box.replaceChildren();
    return;
  }
  const s = t();
  const counts = Object.entries(pending.file.collections)
    .map(([name, docs]) => s.countDocuments(name, Array.isArray(docs) ? docs.length : 0))
    .join(', ');
  box.replaceChildren(
    h(
      'div',
      { class: 'editor__confirm', role: 'group' },
      h('p', {}, s.confirmImport(pending.name, counts)),
      button(
        { class: 'danger', 'data-role': 'import-confirm-run' },
        s.importNow,
        () => void runImport(pending.file),
      ),
      button({ 'data-role': 'import-cancel' }, s.cancel, () => {
        pendingImport = undefined;
        renderImportConfirm();
      }),
    ),
  );
}

/**
 * Another env is shown: its collections from the first, and nothing left open that belongs to
 * the env before (a save must never land in an env the panel no longer shows).
 */
export function dataEnvChanged(): void {
  selected = undefined;
  editor = undefined;
  pendingImport = undefined;
  renderEditor(false);
  renderImportConfirm();
}

/** Wires the panel's fixed buttons once. */
export function wireDataPanel(): void {
  el('doc-add').addEventListener('click', openNew);
  const input = el('db-import-file') as HTMLInputElement;
  el('db-import').addEventListener('click', () => input.click());
  input.addEventListener('change', () => void chooseImport(input));
}

/** Re-renders what is not re-read from events: the editor and the import question. */
export function translateDataPanel(): void {
  keepTyped();
  renderEditor(false);
  renderImportConfirm();
}
