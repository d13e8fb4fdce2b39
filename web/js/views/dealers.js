// Manager: my territory's dealers, with search, kind and status filters and "not visited for N days".
import { t } from '../i18n.js';
import * as local from '../local.js';
import { h, daysAgo, select } from '../ui.js';
import { session } from '../session.js';
import { claimsCard } from './claims-news.js';
import { todayCard } from './today.js';

export const KINDS = ['distributor', 'retailer', 'business_partner', 'bank_branch'];
export const STATUSES = ['prospect', 'active', 'dormant', 'terminated'];
const filter = { q: '', kind: '', status: '', days: '' };

/** One row's facts, from the dealer's summary (local.js). */
export function summarise(d, now = Date.now()) {
  const visits = Object.values(d.visits);
  const last = visits.reduce((m, v) => Math.max(m, v.at), -Infinity);
  const open = Object.values(d.commitments).filter((c) => c.standing.open).length;
  return { id: d.id, territory: d.territory, ...d.profile, lastVisit: Number.isFinite(last) ? last : null, open, now };
}

function matches(s) {
  const q = filter.q.trim().toLowerCase();
  if (q && !`${s.name} ${s.address}`.toLowerCase().includes(q)) return false;
  if (filter.kind && s.kind !== filter.kind) return false;
  if (filter.status && s.status !== filter.status) return false;
  if (filter.days !== '' && s.lastVisit != null && daysAgo(s.lastVisit, s.now) < Number(filter.days)) return false;
  return true;
}

function row(s) {
  const days = s.lastVisit == null ? null : daysAgo(s.lastVisit, s.now);
  const last = days == null ? t('dealers.never') : days < 1 ? t('dealers.today') : `${days} ${t('dealers.daysAgo')}`;
  return h('li', h('a.dealer-row', { href: `#/dealer/${s.id}`, 'data-dealer': s.id },
    h('div.row-main', h('strong', s.name), h('span.badge', t('kind.' + s.kind)), h(`span.badge.st-${s.status}`, t('status.' + s.status))),
    h('div.row-sub', h('span', s.address || ''), h('span', `${t('dealers.lastVisit')}: ${last}`),
      s.open ? h('span.warn', `${s.open} ${t('dealers.openCommitments')}`) : null)));
}

export function dealersView() {
  const now = Date.now();
  const docs = local.summaries();
  const rows = docs.map((d) => summarise(d, now)).sort((a, b) => a.name.localeCompare(b.name));
  const list = h('ul.list#dealer-list');
  const count = h('span.count');
  const draw = () => {
    const shown = rows.filter(matches);
    list.replaceChildren(...shown.map(row));
    if (!shown.length) list.append(h('li.empty', rows.length ? t('dealers.none') : t('dealers.empty')));
    count.textContent = `${shown.length} / ${rows.length} ${t('dealers.count')}`;
  };
  const on = (key) => (e) => { filter[key] = e.target.value; draw(); };
  const bar = h('div.filters',
    h('input', { type: 'search', name: 'q', placeholder: t('dealers.search'), value: filter.q, oninput: on('q'), 'aria-label': t('dealers.search') }),
    select('kind', [['', `${t('dealers.kind')}: ${t('dealers.all')}`], ...KINDS.map((k) => [k, t('kind.' + k)])], filter.kind, { onchange: on('kind'), 'aria-label': t('dealers.kind') }),
    select('status', [['', `${t('dealers.status')}: ${t('dealers.all')}`], ...STATUSES.map((k) => [k, t('status.' + k)])], filter.status, { onchange: on('status'), 'aria-label': t('dealers.status') }),
    h('label.inline', t('dealers.notVisited'), h('input', { type: 'number', min: 0, name: 'days', value: filter.days, oninput: on('days'), style: 'width:5em' })));
  draw();
  // A territory handed over to me: the link to its checklist (views/handover.js, precached), with what waits.
  const handover = h('span');
  import('./handover.js').then((m) => m.badge(handover), () => {});
  return h('section', h('div.head', h('h1', t('dealers.title')), count, handover, h('a.button', { href: '#/commitments', 'data-action': 'my-commitments' }, t('mine.title')),
    h('a.button', { href: '#/dealers/new', 'data-action': 'new-dealer' }, t('net.add'))), todayCard(docs, now), claimsCard(docs, session()?.user, now), bar, list);
}
