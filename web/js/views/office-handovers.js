// Head office and regional managers: territory handovers (交接). A territory passes from its manager to another
// (asked first; POST /api/territories/{id}/handover): the incoming manager takes over or flags each open item of
// the outgoing one on their phone. Here: the open handovers with how many items are taken over, flagged and
// pending, and "complete" (refused while one is pending); the outgoing manager's edits made after the handover,
// held until someone delivers them or keeps them aside (nothing is ever deleted); and the items at risk — not
// taken over and still open — oldest first, with their age (GET /api/handovers/at-risk). The server decides who
// may do each; this page shows its answers.
import { api, getJSON } from '../api.js';
import { t } from '../i18n.js';
import { session } from '../session.js';
import { h, fill, fmtTime, toast, errorText, confirmStep, colon } from '../ui.js';
import { who, territories, dealerLink, table, fetchAll, csvButton } from './office-common.js';

const STATES = ['accepted', 'flagged', 'pending'];
const tname = (id) => territories.find((x) => x.id === id)?.name ?? id;
/** Names of the managers of the handovers shown (a manager without territories is in no other list). */
const names = new Map();
const name = (id) => names.get(id) ?? who(id);
const person = (id) => h('a', { href: `#/office/manager/${encodeURIComponent(id)}`, 'data-manager-link': id }, name(id));
const num = (name, value, max) => h('input', { name, type: 'number', min: 0, max, step: 1, required: true, value, style: 'width:6em', 'aria-label': t('handover.' + name) });

/** Runs `f` (a call to the server), says `done`, reloads; a refusal is said in the reader's language. */
async function call(f, done, reload) {
  try {
    await f();
    toast(t(done));
    reload();
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

const post = (path, body) => api(path, { method: 'POST', ...(body ? { body: JSON.stringify(body) } : {}) });

/** The reassign form: a territory, its outgoing manager, the incoming one, the deadline and the grace period. */
function reassignForm(reload) {
  const from = h('select', { name: 'from', required: true, style: 'width:auto', 'aria-label': t('handover.outgoing') });
  const where = h('select', { name: 'territory', required: true, style: 'width:auto', 'aria-label': t('dealers.territory'), onchange: () => pick() },
    territories.map((x) => h('option', { value: x.id }, x.name)));
  const pick = () => fill(from, (territories.find((x) => x.id === where.value)?.managers ?? []).map((m) => h('option', { value: m.id }, m.name)));
  pick();
  const known = new Map([...territories.flatMap((x) => x.managers.map((m) => [m.id, m.name])), ...[...names].filter(([, n]) => n)]);
  const to = h('input', { name: 'to', required: true, list: 'handover-managers', autocomplete: 'off', style: 'width:12em', placeholder: t('handover.incoming'), 'aria-label': t('handover.incoming') });
  const deadline = num('deadline_days', 14, 90);
  const grace = num('grace_days', 3, 90);
  const form = h('form.actions', { 'data-action': 'reassign-form', onsubmit: async (e) => {
    e.preventDefault();
    const q = t('handover.reassignQ').replace('{territory}', tname(where.value)).replace('{from}', name(from.value)).replace('{to}', name(to.value.trim()));
    if (!(await confirmStep(q, t('handover.reassign')))) return;
    call(() => post(`/api/territories/${encodeURIComponent(where.value)}/handover`,
      { from: from.value, to: to.value.trim(), deadline_days: Number(deadline.value), grace_days: Number(grace.value) }), 'handover.reassigned', reload);
  } }, where, from, to, h('datalist#handover-managers', [...known].map(([id, n]) => h('option', { value: id }, n))),
  h('label.inline', t('handover.deadline_days'), deadline), h('label.inline', t('handover.grace_days'), grace),
  h('button.primary', { type: 'submit' }, t('handover.reassign')));
  return h('section.card', { 'data-section': 'reassign' }, h('h2', t('handover.reassignTitle')), h('p.muted', t('handover.reassignHelp')), form);
}

/** The late edits held in handover `hid`: per document, deliver them to it or keep them aside. */
async function heldList(hid, reload) {
  const r = await getJSON(`/api/handovers/${encodeURIComponent(hid)}/held`);
  const open = r.docs.filter((d) => d.state === 'held');
  if (!open.length) return null;
  return h('div', { 'data-test': 'held' }, h('h3', `${t('handover.held')} (${open.reduce((n, d) => n + d.changes, 0)})`),
    h('ul.plain', open.map((d) => h('li', { 'data-held': d.doc },
      h('div.row-main', h('strong', d.doc.startsWith('dealer:') ? dealerLink(d.doc.slice(7)) : d.doc), h('span.badge', `${d.changes} ${t('handover.changes')}`), h('span.muted', `${fmtTime(d.first_stamped_at)} – ${fmtTime(d.last_stamped_at)}`)),
      h('div.actions', ['release', 'decline'].map((a) => h('button', { type: 'button', 'data-action': a, onclick: async () => {
        if (await confirmStep(t(`handover.${a}Q`), t('handover.' + a))) call(() => post(`/api/handovers/${encodeURIComponent(hid)}/held/${encodeURIComponent(d.doc)}/${a}`), `handover.${a}d`, reload);
      } }, t('handover.' + a))))))));
}

/** One open handover: who to whom, its counts, its held edits, "complete". */
async function openItem(ho, reload) {
  const n = ho.counts ?? Object.fromEntries(STATES.map((s) => [s, ho.items.filter((x) => x.state === s).length]));
  const held = typeof ho.held === 'number' ? ho.held : ho.held?.held;
  return h('li', { 'data-handover': ho.id, 'data-territory': ho.territory },
    h('div.row-main', h('strong', tname(ho.territory)), person(ho.from), '→', person(ho.to)),
    h('div.row-sub', h('span', `${t('handover.since')}${colon()}${fmtTime(ho.reassigned_at)}`), h('span', `${t('handover.deadline')}${colon()}${fmtTime(ho.deadline)}`)),
    h('div.tiles', STATES.map((s) => h('div.tile', { 'data-count': s }, h('b', String(n[s])), h('span', t('handover.' + s))))),
    held === 0 ? null : await heldList(ho.id, reload).catch(() => null),
    h('div.actions', h('button', { type: 'button', 'data-action': 'complete', disabled: n.pending > 0, title: n.pending ? t('error.handover_pending') : null, onclick: async () => {
      if (await confirmStep(t('handover.completeQ').replace('{territory}', tname(ho.territory)), t('handover.complete'))) {
        call(() => post(`/api/handovers/${encodeURIComponent(ho.id)}/complete`), 'handover.completed', reload);
      }
    } }, t('handover.complete'))));
}

/** Items not taken over whose record is still open, oldest first, with their age. */
function atRisk(p, q, pager) {
  const ages = p.totals?.by_age ?? [];
  const states = Array.isArray(p.totals?.by_state) ? p.totals.by_state : Object.entries(p.totals?.by_state ?? {}).map(([state, n]) => ({ state, n }));
  const cols = [[t('handover.item'), (x) => x.title], [t('handover.kind'), (x) => t('hkind.' + x.kind, x.kind)], [t('office.dealer'), (x) => x.dealer_name ?? x.dealer],
    [t('dealers.territory'), (x) => tname(x.territory)], [t('handover.outgoing'), (x) => name(x.from)], [t('handover.toManager'), (x) => name(x.to)],
    [t('dealers.status'), (x) => t('handover.' + x.state, x.state)], [t('handover.reason'), (x) => x.reason ?? ''],
    [t('handover.age'), (x) => x.age_days], [t('handover.sinceHandover'), (x) => x.days_since_handover]];
  return h('section.card', { 'data-section': 'at-risk' }, h('h2', `${t('handover.atRisk')} (${p.total})`),
    h('div.tiles', ages.map((b) => h('div.tile', { 'data-age': b.from_days }, h('b', String(b.n)),
      h('span', b.until_days == null ? `${b.from_days}+ ${t('office.days')}` : `${b.from_days}–${b.until_days - 1} ${t('office.days')}`))),
    states.map((s) => h('div.tile', { 'data-state': s.state }, h('b', String(s.n)), h('span', t('handover.' + s.state, s.state))))),
    h('div.actions', csvButton('handovers-at-risk', cols, () => fetchAll(`/api/handovers/at-risk?${q}`))),
    table(cols.map((c) => c[0]), p.items.map((x) => h('tr', { 'data-item': x.id, 'data-state': x.state, class: x.state === 'flagged' ? 'overdue' : null },
      h('td', x.title), h('td', t('hkind.' + x.kind, x.kind)), h('td', dealerLink(x.dealer, x.dealer_name)), h('td', tname(x.territory)),
      h('td', person(x.from)), h('td', person(x.to)),
      h('td', h(`span.badge${x.state === 'flagged' ? '.overdue' : ''}`, t('handover.' + x.state, x.state))), h('td', x.reason ?? ''),
      h('td', { 'data-age-days': x.age_days }, h('span.badge', `${x.age_days} ${t('office.days')}`)), h('td', `${x.days_since_handover} ${t('office.days')}`)))),
    pager(p));
}

/** The tab: the reassign form (head office, regional managers), the open handovers, the items at risk. */
export async function handoversTab(reload, filters, q, pager) {
  const page = new URLSearchParams(q);
  const paged = new URLSearchParams(page);
  paged.delete('page');
  const [open, risk] = await Promise.all([getJSON('/api/handovers?status=open'), getJSON(`/api/handovers/at-risk?${page}`)]);
  const list = open.handovers ?? open.items ?? open;
  for (const ho of list) names.set(ho.from, ho.from_name).set(ho.to, ho.to_name);
  const role = session()?.role;
  return [role === 'head_office' || role === 'regional' ? reassignForm(reload) : null,
    h('section.card', { 'data-section': 'open-handovers' }, h('h2', `${t('handover.open')} (${list.length})`),
      h('ul.plain', list.length ? await Promise.all(list.map((ho) => openItem(ho, reload))) : h('li.muted', t('handover.none')))),
    filters, atRisk(risk, paged, pager)];
}
