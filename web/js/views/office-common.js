// Shared by head office's views: manager names, tables, links, CSV export (UTF-8 with a BOM, so Excel reads Chinese).
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { h, fmtMoney } from '../ui.js';

export const names = new Map(); // user id → name, from the territories' managers
export const who = (id) => names.get(id) ?? id ?? '?';
export let territories = [];

export async function loadNames() {
  if (territories.length) return;
  territories = await getJSON('/api/territories');
  for (const x of territories) for (const m of x.managers) names.set(m.id, m.name);
}

export const money = (minor, currency) => (minor == null ? '—' : fmtMoney({ minor, currency }));
export const dealerLink = (id, name) => h('a', { href: `#/office/dealer/${encodeURIComponent(id)}`, 'data-dealer-link': id }, name ?? id);
export const managerLink = (id) => h('a', { href: `#/office/manager/${encodeURIComponent(id)}`, 'data-manager-link': id }, who(id));
export const table = (heads, rows, attrs = {}) => h('div.table-wrap', h('table', attrs,
  h('thead', h('tr', heads.map((x) => h('th', x)))),
  h('tbody', rows.length ? rows : h('tr', h('td', { colspan: heads.length }, t('dealer.none'))))));
export const day = (ms) => (ms == null ? '' : new Date(ms).toISOString().slice(0, 10));
/** A set serialised as `{value: true}` or an array, as a list. */
export const keys = (s) => (Array.isArray(s) ? s : Object.keys(s ?? {}));

const cell = (v) => {
  let s = v == null ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`; // never a formula in Excel
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** Downloads `rows` (arrays of cells) as `name.csv`, with `heads` first. */
export function download(name, heads, rows) {
  const text = '\uFEFF' + [heads, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' })), download: `${name}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Every row of a paged list (fetched 500 at a time): the whole filtered set, never a cut. */
export async function fetchAll(path) {
  const sep = path.includes('?') ? '&' : '?';
  const out = [];
  for (let page = 1; ; page += 1) {
    const p = await getJSON(`${path}${sep}page=${page}&per_page=500`);
    out.push(...p.items);
    if (out.length >= p.total || !p.items.length) return out;
  }
}

/** A CSV button; `columns` are `[header, item → value]`, `items()` gives every row. */
export function csvButton(name, columns, items) {
  return h('button.small', { 'data-action': 'csv', onclick: async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      const all = await items();
      download(name, columns.map((c) => c[0]), all.map((x) => columns.map((c) => c[1](x))));
    } finally { b.disabled = false; }
  } }, t('office.csv'));
}

/** A section heading with its CSV button. */
export const section = (title, ...rest) => h('div.section-head', h('h2', title), ...rest);
