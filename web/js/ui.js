// A tiny DOM builder and formatting helpers.
import { t, lang } from './i18n.js';

/** h('div.card#x', {onclick, ...attrs}, ...children) */
export function h(tag, attrs, ...kids) {
  const [, name, rest] = tag.match(/^([a-z0-9]+)(.*)$/i);
  const el = document.createElement(name);
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    kids.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  return fill(el, ...kids);
}

/** Appends children to `el`, skipping null/false and flattening arrays. */
function append(el, k) {
  if (k == null || k === false) return;
  if (Array.isArray(k)) k.forEach((x) => append(el, x));
  else el.append(k instanceof Node ? k : String(k));
}

/** Replaces the children of `el`, with the same rules as `h`. */
export function fill(el, ...kids) {
  el.replaceChildren();
  kids.forEach((k) => append(el, k));
  return el;
}

export const DAY = 86_400_000;

export function fmtTime(ms) {
  if (ms == null) return '—';
  return new Date(ms).toLocaleString(lang() === 'zh-Hant' ? 'zh-TW' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

export function fmtMoney(m) {
  if (!m) return '—';
  return `${m.currency} ${(m.minor / 100).toLocaleString(undefined, { minimumFractionDigits: 0, maximumFractionDigits: 2 })}`;
}

/** The furthest step of a lifecycle map `{status: {by, at}}`, given the order of ranks. */
export function current(status, ranks) {
  let best = null;
  for (const s of Object.keys(status ?? {})) {
    if (best == null || (ranks[s] ?? 0) >= (ranks[best] ?? 0)) best = s;
  }
  return best;
}

export const RANKS = {
  commitments: { open: 0, kept: 1, broken: 1, cancelled: 1 },
  claims: { requested: 0, approved: 1, rejected: 1, spent: 2, reconciled: 3 },
  problems: { open: 0, in_progress: 1, resolved: 2 },
};

const FIELDS = { name: 'dealer.name', address: 'dealer.address', kind: 'dealers.kind', status: 'dealers.status', tier: 'dealer.tier' };
/** A conflicting field's name: a profile field's label, else its path. */
export const fieldName = (path) => (path[0] === 'profile' && FIELDS[path[1]] && path.length === 2 ? t(FIELDS[path[1]]) : path.join('.'));

export function daysAgo(ms, now = Date.now()) {
  return Math.floor((now - ms) / DAY);
}

export function toast(text, kind = 'ok') {
  const el = h(`div.toast.${kind}`, { role: 'status', 'data-test': 'toast' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

/** A labelled field. */
export function field(label, input) {
  return h('label.field', h('span', label), input);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export function errorText(e) {
  return e?.code ? `${t('error.' + e.code, e.code)}: ${e.message}` : String(e?.message ?? e);
}
