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
    else if (k === 'style') el.style.cssText = v; // CSSOM: the CSP forbids style attributes
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

const locale = () => (lang() === 'zh-Hant' ? 'zh-TW' : 'en-GB');

/** A date and time, in `zone` (a territory's IANA zone) when given, else the device's. */
export function fmtTime(ms, zone) {
  if (ms == null) return '—';
  return new Intl.DateTimeFormat(locale(), {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', ...(zone ? { timeZone: zone } : {}),
  }).format(ms);
}

/** A calendar day (`YYYY-MM-DD`, a due date) written the reader's way. */
export function fmtDay(day) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day ?? '')) return day || '—';
  const [y, m, d] = day.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d));
}

/** An amount `{minor, currency}` (minor units: cents), with its currency code, grouped the reader's way. */
export function fmtMoney(m) {
  if (!m) return '—';
  const digits = { minimumFractionDigits: m.minor % 100 === 0 ? 0 : 2, maximumFractionDigits: 2 };
  try {
    return new Intl.NumberFormat(locale(), { style: 'currency', currency: m.currency, currencyDisplay: 'code', ...digits }).format(m.minor / 100);
  } catch {
    return `${m.currency} ${new Intl.NumberFormat(locale(), digits).format(m.minor / 100)}`;
  }
}

/** A record's status as the core decided it (`standing`), translated by `prefix`; a concurrent other status is named too. */
export function statusText(r, prefix) {
  const s = r.standing;
  if (!s) return '';
  const text = t(prefix + s.status, s.status);
  return s.also?.length ? `${text} ${t('status.conflict', '')}${s.also.map((x) => t(prefix + x, x)).join('、')}${t('status.conflictEnd', '')}` : text;
}

/** The badge of a record's status (`standing`), marked when another status was taken at the same time elsewhere. */
export function statusBadge(r, prefix, cls) {
  const s = r.standing;
  return h(`span.badge.${cls}-${s.status}${s.also?.length ? '.conflicted' : ''}`, { 'data-status': s.status, ...(s.also?.length ? { 'data-also': s.also.join(' ') } : {}) }, statusText(r, prefix));
}

const FIELDS = { name: 'dealer.name', address: 'dealer.address', kind: 'dealers.kind', status: 'dealers.status', tier: 'dealer.tier' };
/** A conflicting field's name: a profile field's label, else its path. */
export const fieldName = (path) => (path[0] === 'profile' && FIELDS[path[1]] && path.length === 2 ? t(FIELDS[path[1]])
  : path.length === 3 && path[2] === 'status' ? t('conflict.status.' + path[0], path.join('.')) : path.join('.'));
const STEP = { commitments: 'cstatus.', claims: 'claim.', activities: 'astatus.' };
/** One value of a conflict as shown: a step's name when two steps of one rank conflict, else the value. */
export const conflictValue = (c, v) => (c.kind === 'steps' ? t((STEP[c.path[0]] ?? '') + v.value, v.value)
  : typeof v.value === 'string' ? v.value : JSON.stringify(v.value));

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

/** A colon as the reader's language writes it before a detail. */
export const colon = () => (lang() === 'zh-Hant' ? '：' : ': ');

/**
 * What went wrong, in the reader's language, from the error's stable `code` (and, for a broken record rule,
 * its `reason`; for a server's refusal by a schema rule, its `rule`). Never the raw English message, unless
 * nothing else is known about the error.
 */
export function errorText(e) {
  const code = e?.code;
  if (!code) return e?.message ? `${t('error.unknown')} (${e.message})` : t('error.unknown');
  // A schema rule names what was refused more precisely than its code (forbidden, invalid): it alone is said.
  const rule = e.rule ? t('rule.' + e.rule, '') : '';
  if (rule) return rule.charAt(0).toUpperCase() + rule.slice(1);
  const detail = e.reason ? t('invalid.' + e.reason, '') : '';
  const main = t('error.' + code, t('rule.' + code, ''));
  if (main) return detail ? `${main}${colon()}${detail}` : main;
  return `${t('error.unknown')} (${code})`;
}

let dialogs = 0;
/**
 * A modal question; resolves with the chosen value of `choices` ([[value, label]]), 'cancel' on Escape.
 * With `input` (`{label, required}`), a text field comes first; the promise then resolves with
 * `{choice, text}`. The dialog is named by its question, and focus returns where it was.
 */
export function ask(text, choices, input) {
  const id = `dialog-${++dialogs}`;
  const before = document.activeElement;
  const box = input ? h('input', { name: 'text', required: input.required, 'aria-label': input.label, 'data-test': 'dialog-text' }) : null;
  const d = h('dialog', { 'data-test': 'dialog', 'aria-labelledby': id }, h('p', { id }, text),
    box ? field(input.label, box) : null,
    h('form.actions', { method: 'dialog' }, choices.map(([v, label]) => h('button', { value: v, 'data-choice': v, type: 'submit', formnovalidate: v === 'cancel' }, label))));
  const form = d.querySelector('form');
  form.addEventListener('submit', (e) => {
    if (box && e.submitter?.value !== 'cancel' && !box.value.trim()) { e.preventDefault(); box.focus(); }
  });
  document.body.append(d);
  d.showModal();
  if (box) box.focus();
  return new Promise((resolve) => d.addEventListener('close', () => {
    d.remove();
    if (before?.isConnected) before.focus();
    const choice = d.returnValue || 'cancel';
    resolve(input ? { choice, text: box.value.trim() } : choice);
  }));
}

/** Asks before a step that cannot be undone; true when confirmed. */
export async function confirmStep(question, confirmLabel) {
  return (await ask(question, [['confirm', confirmLabel], ['cancel', t('common.cancel')]])) === 'confirm';
}
