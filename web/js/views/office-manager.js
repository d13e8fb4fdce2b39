// Head office's manager page: one person's work at a glance — visits per week, coverage by tier frequency,
// commitments kept/broken/overdue, open problems by age, spend; tables export to CSV.
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { h, daysAgo } from '../ui.js';
import { territories, money, dealerLink, table, fetchAll, csvButton, section } from './office-common.js';
import { visitsChart, ageChart, spendChart } from './office-chart.js';

const range = { from: '', to: '' };
const ms = (d, end) => (d ? new Date(`${d}T${end ? '23:59:59.999' : '00:00:00'}`).getTime() : '');
const tile = (n, label, attrs = {}) => h('div.tile', attrs, h('b', String(n)), h('span', label));

export async function managerPage(id, reload) {
  const q = new URLSearchParams();
  if (range.from) q.set('from', ms(range.from));
  if (range.to) q.set('to', ms(range.to, true));
  const m = await getJSON(`/api/managers/${encodeURIComponent(id)}?${q}`);
  const due = `/api/dealers?manager=${encodeURIComponent(id)}&due=true`;
  const late = await getJSON(`${due}&per_page=50`);
  const now = Date.now();
  const pct = (r) => (r == null ? '—' : `${Math.round(r * 100)}%`);
  const n = (s) => m.commitments.by_status.find((x) => x.status === s)?.n ?? 0;
  const date = (name) => h('label.inline', h('span', t('office.' + name)),
    h('input', { type: 'date', name, value: range[name], onchange: (e) => { range[name] = e.target.value; reload(); } }));
  const dueCols = [[t('dealer.name'), (x) => x.name], [t('dealers.territory'), (x) => x.territory], [t('dealer.tier'), (x) => x.tier],
    [t('dealers.lastVisit'), (x) => (x.last_visit_at ? `${daysAgo(x.last_visit_at, now)} ${t('dealers.daysAgo')}` : t('dealers.never'))]];
  const spendCols = [[t('claim.category'), (r) => t('ecat.' + r.category)], [t('office.month'), (r) => r.month], [t('office.currency'), (r) => r.currency], [t('office.spend'), (r) => r.spend_minor / 100]];
  const tierCols = [[t('dealer.tier'), (r) => r.tier], [t('office.every'), (r) => `${r.every_days} ${t('office.days')}`], [t('nav.dealers'), (r) => r.dealers], [t('office.visitDue'), (r) => r.due]];
  return h('div.manager-page', { 'data-manager-page': m.id },
    h('p', h('a', { href: '#/office/territories' }, t('office.backToTerritories'))),
    h('h2', m.name, m.territories.map((x) => [' ', h('span.badge', territories.find((y) => y.id === x)?.name ?? x)])),
    h('div.filters', date('from'), date('to')),
    h('div.charts', visitsChart(m.visits_per_week, `${t('office.visitsPerWeek')} · ${m.name}`), ageChart(m.problems.open_by_age)),
    h('section.block', { 'data-section': 'coverage' }, section(t('office.coverage')),
      h('div.tiles', tile(m.coverage.dealers, t('office.activeDealers')), tile(m.coverage.due, t('office.visitDue'), { 'data-test': 'due' })),
      table(tierCols.map((c) => c[0]), m.coverage.by_tier.map((r) => h('tr', tierCols.map((c) => h('td', String(c[1](r) ?? '')))))),
      section(`${t('office.dueDealers')} (${late.total})`, csvButton(`manager-${m.id}-due`, dueCols, () => fetchAll(due))),
      table(dueCols.map((c) => c[0]), late.items.map((x) => h('tr', { 'data-dealer': x.id }, h('td', dealerLink(x.id, x.name)), dueCols.slice(1).map((c) => h('td', String(c[1](x) ?? '')))))),
      late.total > late.items.length ? h('p.muted', `${t('office.onThisPage')} ${late.items.length} / ${late.total} · ${t('office.csvHasAll')}`) : null),
    h('section.block', { 'data-section': 'commitments' }, section(t('dealer.allCommitments')),
      h('div.tiles', tile(n('kept'), t('cstatus.kept')), tile(n('broken'), t('cstatus.broken')), tile(n('open'), t('cstatus.open')),
        tile(m.commitments.overdue, t('commitment.overdue'), { class: 'tile overdue' })),
      h('div.tiles', { 'data-test': 'rates' }, ['kept', 'broken', 'overdue'].map((k) => tile(pct(m.commitments.rates[k]), t('office.rate.' + k), { 'data-rate': k })))),
    h('section.block', { 'data-section': 'spend' }, h('div.charts', spendChart(m.spend.spend_by_month)),
      section(t('office.spend'), csvButton(`manager-${m.id}-spend`, spendCols, async () => m.spend.spend_by_month)),
      table(spendCols.map((c) => c[0]), m.spend.spend_by_month.filter((r) => r.spend_minor).map((r) => h('tr', spendCols.slice(0, 3).map((c) => h('td', String(c[1](r) ?? ''))), h('td', money(r.spend_minor, r.currency)))))),
    h('p.muted', `${t('office.frequencyNote')} ${m.visit_every_days.map((d, i) => `${t('dealer.tier')} ${i + 1}${i === m.visit_every_days.length - 1 ? '+' : ''}: ${d}`).join(' · ')} ${t('office.days')}`));
}
