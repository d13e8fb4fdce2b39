// Head office's audit history of one record (GET /api/dealers/{id}/history): each field's writes with their value,
// user, device, the device's time, the server's receive time, the GPS fix, and the values that lost a concurrent edit.
// Shown in a modal <dialog> named by its heading, which takes the focus; focus returns to the button on close.
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { h, errorText } from '../ui.js';
import { who, table } from './office-common.js';

// The first key of a field, as the dealer page names it (nested keys follow as they are stored).
const LABELS = {
  what: 'commitment.what', to_whom: 'commitment.toWhom', due: 'commitment.due', owner: 'commitment.owner', purpose: 'claim.purpose',
  category: 'claim.category', amount: 'office.amount', spent: 'office.spent', title: 'problem.title', description: 'problem.description',
  severity: 'problem.severity', resolution: 'office.resolution', summary: 'office.summary', notes: 'office.notes', status: 'dealers.status',
  attendees: 'office.attendees', purposes: 'office.purposes', photos: 'office.photos', name: 'history.name',
};

// A lifecycle's stages, by record kind (`status.<stage>.by`).
const STAGES = { commitment: 'cstatus.', claim: 'claim.', problem: 'pstatus.', activity: 'astatus.' };

const fieldName = (f, kind) => {
  const [first, ...rest] = f.split('.');
  const stage = first === 'status' && rest.length ? t((STAGES[kind] ?? '') + rest[0], rest[0]) : null;
  const parts = (stage ? [stage, ...rest.slice(1)] : rest).map((p) => t(`history.part.${p}`, p));
  return [t(LABELS[first] ?? `history.field.${first}`, first), ...parts].join(' · ');
};

/** A moment to the second, in the dealer's zone: an audit reader compares the device's clock with the server's. */
export function stamp(ms, zone) {
  if (ms == null) return '—';
  return new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', ...(zone ? { timeZone: zone } : {}),
  }).format(ms);
}

function shown(value, field, zone) {
  if (value == null) return t('history.deleted');
  if (typeof value === 'number' && /(^|\.)(at|made_at|taken_at)$/.test(field)) return stamp(value, zone);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const gps = (g) => (g ? `${g.lat.toFixed(5)}, ${g.lon.toFixed(5)} ±${Math.round(g.accuracy_m)} m${g.manual ? ` (${t('history.manual')})` : ''}` : '—');

function row(w, field, zone) {
  const concurrent = [
    w.lost ? h('span.badge', { 'data-test': 'lost' }, t('history.lost')) : null,
    w.lost_values.map((l) => h('div', { 'data-test': 'lost-value' },
      `${t('history.beat')} ${shown(l.value, field, zone)}（${who(l.user)} · ${stamp(l.at, zone)}）`)),
  ];
  return h('tr', { 'data-write': w.change, 'data-lost': w.lost ? 'true' : null },
    h('td', { 'data-test': 'value' }, shown(w.value, field, zone)),
    h('td', who(w.user)), h('td.muted', w.device ?? '—'),
    h('td', { 'data-test': 'device-time', 'data-ms': w.at }, stamp(w.at, zone)),
    h('td', { 'data-test': 'server-time', 'data-ms': w.received_at }, w.received_at == null ? t('history.notReceived') : stamp(w.received_at, zone)),
    h('td', { 'data-test': 'gps' }, gps(w.gps)),
    h('td', concurrent));
}

/**
 * Opens the history of record `id` of `kind` (commitment, claim, problem, visit…) at dealer `dealer`;
 * `label` names the record in the heading. Resolves when the dialog closes.
 */
export async function openHistory(dealer, kind, id, label, zone) {
  const before = document.activeElement;
  const heading = h('h2#history-title', { tabindex: '-1' }, t('history.title').replace('{label}', label));
  const body = h('div', { 'data-test': 'history-body', 'aria-live': 'polite' }, h('p.muted', t('common.loading')));
  const d = h('dialog.history', { 'aria-labelledby': 'history-title', 'data-history': `${kind}:${id}` },
    heading, body, h('form.actions', { method: 'dialog' }, h('button', { value: 'close', 'data-action': 'close-history' }, t('history.close'))));
  d.style.cssText = 'max-width:min(64rem,96vw);max-height:90vh;overflow:auto';
  document.body.append(d);
  d.showModal();
  heading.focus();
  const closed = new Promise((resolve) => d.addEventListener('close', () => {
    d.remove();
    if (before?.isConnected) before.focus();
    resolve();
  }));
  try {
    const q = new URLSearchParams({ kind, record: id });
    const r = await getJSON(`/api/dealers/${encodeURIComponent(dealer)}/history?${q}`);
    const heads = [t('history.value'), t('history.user'), t('history.device'), t('history.deviceTime'), t('history.serverTime'), 'GPS', t('history.concurrent')];
    body.replaceChildren(...(r.fields.length ? r.fields.map((f) => h('section.block', { 'data-field': f.field },
      h('h3', fieldName(f.field, kind)),
      table(heads, f.writes.map((w) => row(w, f.field, zone))))) : [h('p.muted', t('history.empty'))]));
    body.dataset.ready = 'true';
  } catch (e) {
    body.replaceChildren(h('p.error', errorText(e)));
  }
  return closed;
}
