/**
 * The function invocations panel (`GET /functions/invocations`): newest first, filtered by
 * function and source, repeated runs of one function collapsed into one row.
 */
import { api, badge, details, el, empty, h, pretty, time, type Json } from './dom';
import { withEnv } from './env-choice';
import { recorded, t } from './lang';

/** The invocations filter: one function and/or one source ('' = all). */
const invocationFilter = { name: '', source: '' };

const isOk = (inv: Json): boolean =>
  inv.outcome === 'ok' || inv.outcome === 'returned' || inv.outcome === 'success';

function invocationRow(inv: Json): HTMLElement {
  const s = t();
  const logs = (inv.logs as Json[] | undefined) ?? [];
  const warnings = (inv.warnings as string[] | undefined) ?? [];
  return h(
    'li',
    { 'data-role': 'invocation', 'data-name': String(inv.name) },
    details(
      String(inv.invocationId),
      [
        h('strong', {}, String(inv.name)),
        ' ',
        badge(recorded(inv.outcome), isOk(inv) ? 'ok' : 'bad'),
        ' ',
        badge(inv.coldStart ? s.cold : s.warm, inv.coldStart ? 'info' : 'muted'),
        ` ${Number(inv.durationMs).toFixed(0)} ms · ${String(inv.source)} · ${String(inv.openid) || '—'} · ${time(inv.startedAt)}`,
      ],
      h('h4', {}, s.event),
      h('pre', {}, pretty(inv.event)),
      h('h4', {}, inv.error ? s.error : s.result),
      h('pre', {}, pretty(inv.error ?? inv.result)),
      logs.length ? h('h4', {}, s.logs) : null,
      logs.length
        ? h('pre', {}, logs.map((l) => `[${String(l.level)}] ${String(l.message)}`).join('\n'))
        : null,
      warnings.length ? h('h4', {}, s.warnings) : null,
      warnings.length ? h('pre', {}, warnings.join('\n')) : null,
    ),
  );
}

/**
 * Runs of the same function from the same source, newest first: three or more in a row (a timer
 * after "advance 1 day") collapse into one row, "payexpire ×288 · wx_trigger · all ok", that
 * opens onto its runs, so they do not bury everything else.
 */
const COLLAPSE_AT = 3;
function groupRuns(invocations: Json[]): Json[][] {
  const groups: Json[][] = [];
  for (const inv of invocations) {
    const last = groups[groups.length - 1];
    if (last && last[0].name === inv.name && last[0].source === inv.source) last.push(inv);
    else groups.push([inv]);
  }
  return groups;
}

function groupRow(runs: Json[]): HTMLElement {
  const s = t();
  const failed = runs.filter((inv) => !isOk(inv)).length;
  const first = runs[runs.length - 1];
  const last = runs[0];
  return h(
    'li',
    {
      'data-role': 'invocation-group',
      'data-name': String(last.name),
      'data-count': String(runs.length),
    },
    details(
      `group:${String(last.invocationId)}`,
      [
        h('strong', {}, `${String(last.name)} ×${runs.length}`),
        ' ',
        badge(failed ? s.nFailed(failed) : s.allOk, failed ? 'bad' : 'ok'),
        ` · ${String(last.source)} · ${time(first.startedAt)} – ${time(last.startedAt)}`,
      ],
      h('ul', { class: 'list' }, ...runs.slice(0, 20).map(invocationRow)),
      runs.length > 20 ? h('p', { class: 'empty' }, s.earlierRuns(runs.length - 20)) : null,
    ),
  );
}

function filterSelect(role: string, label: string, all: string, values: string[], current: string) {
  const select = h(
    'select',
    { 'data-role': role, 'aria-label': label },
    h('option', { value: '' }, all),
    ...values.map((v) => h('option', { value: v }, v)),
  ) as HTMLSelectElement;
  select.value = current;
  return select;
}

export async function renderInvocations(): Promise<void> {
  const s = t();
  const { invocations } = await api<{ invocations: Json[] }>(
    'GET',
    withEnv('/functions/invocations'),
  );
  const box = el('invocations');
  if (!invocations.length) {
    box.replaceChildren(empty(s.noInvocations));
    return;
  }
  const distinct = (key: string): string[] =>
    [...new Set(invocations.map((inv) => String(inv[key])))].sort();
  const byName = filterSelect(
    'invocation-filter-name',
    s.filterFunction,
    s.allFunctions,
    distinct('name'),
    invocationFilter.name,
  );
  const bySource = filterSelect(
    'invocation-filter-source',
    s.filterSource,
    s.allSources,
    distinct('source'),
    invocationFilter.source,
  );
  for (const [select, key] of [
    [byName, 'name'],
    [bySource, 'source'],
  ] as const) {
    select.addEventListener('change', () => {
      invocationFilter[key] = select.value;
      void renderInvocations();
    });
  }
  const shown = invocations
    .filter(
      (inv) =>
        (!invocationFilter.name || inv.name === invocationFilter.name) &&
        (!invocationFilter.source || inv.source === invocationFilter.source),
    )
    .reverse();
  const groups = groupRuns(shown).slice(0, 50);
  box.replaceChildren(
    h('div', { class: 'filters' }, byName, bySource),
    h(
      'ul',
      { class: 'list' },
      ...groups.flatMap((runs) =>
        runs.length >= COLLAPSE_AT ? [groupRow(runs)] : runs.map(invocationRow),
      ),
    ),
  );
}
