// Head office and regional managers: the merged picture from the server's read API. Every list is filtered
// (territory, manager, dealer, dates) and paged on the server; counts and sums come from the server's totals.
import '../i18n-office.js'; // head office's words, before any of its screens draws
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { h, fill, fmtTime, fmtDay, errorText, fieldName, daysAgo, conflictValue, confirmStep, toast } from '../ui.js';
import { session } from '../session.js';
import { who, loadNames, territories, money, dealerLink, managerLink, table, day, keys, fetchAll, csvButton } from './office-common.js';
import { visitsChart, ageChart, spendChart } from './office-chart.js';
import { ageingCard } from './office-ageing.js';

export const TABS = ['territories', 'dealers', 'visits', 'commitments', 'problems', 'activities', 'claims', 'sales', 'pnl', 'approvals', 'escalations', 'handovers', 'conflicts'];
const CLAIM_STAGES = ['requested', 'approved', 'rejected', 'spent', 'reconciled'];
const opts = { page: 1, overdue: false, claimsOverdue: false, due: false, status: '' };
/** The filters every list shares; kept while moving between tabs. */
const F = { territory: '', manager: '', dealer: '', dealerName: '', from: '', to: '' };

const dealerCell = (x) => h('td', dealerLink(x.dealer, x.dealer_name ?? x.dealer));
const ms = (d, end) => (d ? new Date(`${d}T${end ? '23:59:59.999' : '00:00:00'}`).getTime() : '');

/** The query string of the shared filters (and `extra`), without paging. */
function qs(extra = {}, { dealerAsName = false } = {}) {
  const p = new URLSearchParams();
  const put = (k, v) => { if (v !== '' && v != null && v !== false) p.set(k, v); };
  put('territory', F.territory);
  put('manager', F.manager);
  if (dealerAsName) put('q', F.dealerName);
  else put('dealer', F.dealer);
  put('from', ms(F.from));
  put('to', ms(F.to, true));
  for (const [k, v] of Object.entries(extra)) put(k, v);
  return p.toString();
}

function pager(p, reload) {
  const pages = Math.max(1, Math.ceil(p.total / p.per_page));
  return h('div.pager', h('span', { 'data-test': 'total' }, `${t('office.total')} ${p.total}`),
    h('button', { disabled: p.page <= 1, onclick: () => { opts.page -= 1; reload(); } }, t('office.prev')),
    h('span', `${p.page} / ${pages}`),
    h('button', { disabled: p.page >= pages, onclick: () => { opts.page += 1; reload(); } }, t('office.next')));
}

async function pickDealer(input, list) {
  const v = input.value.trim();
  if (!v) return null;
  const p = await getJSON(`/api/dealers?${new URLSearchParams({ q: v, per_page: 20 })}${F.territory ? `&territory=${encodeURIComponent(F.territory)}` : ''}`);
  fill(list, p.items.map((d) => h('option', { value: d.name }, d.territory)));
  return p.items.find((d) => d.name === v) ?? (p.total === 1 ? p.items[0] : null);
}

/** Territory, manager, dealer and date range; `reload` runs after every change. */
function filterBar(reload, { dates = true, dealer = true } = {}) {
  const changed = () => { opts.page = 1; reload(); };
  const managers = new Map();
  for (const x of territories) if (!F.territory || x.id === F.territory) for (const m of x.managers) managers.set(m.id, m.name);
  const list = h('datalist#office-dealers');
  const dealerInput = h('input', { type: 'search', name: 'dealer', list: 'office-dealers', value: F.dealerName, placeholder: t('office.dealer'), 'aria-label': t('office.dealer'),
    oninput: (e) => { pickDealer(e.target, list).catch(() => {}); },
    onchange: async (e) => {
      const d = await pickDealer(e.target, list).catch(() => null);
      F.dealerName = e.target.value.trim();
      F.dealer = d?.id ?? (F.dealerName ? '-' : ''); // a name that matches no dealer shows nothing
      changed();
    } });
  const sel = (name, options, value, set) => h('select', { name, 'aria-label': t('office.' + name), onchange: (e) => { set(e.target.value); changed(); } },
    h('option', { value: '' }, `${t('office.' + name)}: ${t('dealers.all')}`),
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
  const date = (name) => h('label.inline', h('span', t('office.' + name)),
    h('input', { type: 'date', name, value: F[name], onchange: (e) => { F[name] = e.target.value; changed(); } }));
  return h('div.filters', { 'data-test': 'filters' },
    sel('territory', territories.map((x) => [x.id, x.name]), F.territory, (v) => { F.territory = v; F.manager = ''; }),
    sel('manager', [...managers], F.manager, (v) => { F.manager = v; }),
    dealer ? [dealerInput, list] : null,
    dates ? [date('from'), date('to')] : null,
    h('button.small', { 'data-action': 'clear-filters', onclick: () => { Object.assign(F, { territory: '', manager: '', dealer: '', dealerName: '', from: '', to: '' }); changed(); } }, t('office.clear')));
}

const statusSelect = (values, prefix, reload) => h('select', { name: 'status', 'aria-label': t('dealers.status'), onchange: (e) => { opts.status = e.target.value; opts.page = 1; reload(); } },
  h('option', { value: '' }, `${t('dealers.status')}: ${t('dealers.all')}`),
  values.map((v) => h('option', { value: v, selected: v === opts.status }, t(prefix + v))));

const VISIT_COLUMNS = () => [[t('office.when'), (v) => fmtTime(v.at)], [t('office.dealer'), (v) => v.dealer_name], [t('dealers.territory'), (v) => v.territory],
  [t('office.manager'), (v) => who(v.manager)], [t('office.purposes'), (v) => keys(v.purposes).map((x) => t('purpose.' + x)).join('、')],
  [t('office.summary'), (v) => v.summary], ['GPS', (v) => (v.lat != null ? `${v.lat},${v.lon}` : '')]];

const loaders = {
  async territories() {
    const cols = [[t('dealers.territory'), (x) => x.name], [t('office.region'), (x) => x.region], [t('office.managers'), (x) => x.managers.map((m) => m.name).join('、')], [t('nav.dealers'), (x) => x.dealer_count]];
    return [h('div.actions', csvButton('territories', cols, async () => territories)),
      table(cols.map((c) => c[0]), territories.map((x) => h('tr', { 'data-territory': x.id }, h('td', x.name), h('td', x.region),
        h('td', x.managers.map((m, i) => [i ? '、' : '', managerLink(m.id)])), h('td', String(x.dealer_count)))))];
  },
  async dealers(reload) {
    const q = qs({ due: opts.due ? 'true' : '' }, { dealerAsName: true });
    const p = await getJSON(`/api/dealers?${q}&page=${opts.page}&per_page=50`);
    const now = Date.now();
    const last = (x) => (x.last_visit_at ? `${daysAgo(x.last_visit_at, now)} ${t('dealers.daysAgo')}` : t('dealers.never'));
    const cols = [[t('dealer.name'), (x) => x.name], [t('dealers.territory'), (x) => x.territory], [t('dealers.kind'), (x) => t('kind.' + x.kind)], [t('dealer.tier'), (x) => x.tier],
      [t('dealers.status'), (x) => t('status.' + x.status)], [t('dealers.lastVisit'), last], [t('dealers.openCommitments'), (x) => x.open_commitments], [t('dealer.problems'), (x) => x.open_problems]];
    return [filterBar(reload, { dates: false }),
      h('div.actions', h('label.inline', h('input', { type: 'checkbox', name: 'due', checked: opts.due, onchange: (e) => { opts.due = e.target.checked; opts.page = 1; reload(); } }), t('office.dueOnly')),
        h('span.badge', { 'data-test': 'visit-due' }, `${t('office.visitDue')} ${p.totals.visit_due}`), csvButton('dealers', cols, () => fetchAll(`/api/dealers?${q}`))),
      table(cols.map((c) => c[0]), p.items.map((x) => h('tr', { 'data-dealer': x.id }, h('td', dealerLink(x.id, x.name)), cols.slice(1).map((c) => h('td', String(c[1](x) ?? '')))))),
      pager(p, reload)];
  },
  async visits(reload) {
    const q = qs();
    const p = await getJSON(`/api/visits?${q}&page=${opts.page}&per_page=50`);
    let d = '';
    const items = [];
    for (const v of p.items) {
      const dd = new Date(v.at).toLocaleDateString();
      if (dd !== d) { d = dd; items.push(h('li.day', dd)); }
      items.push(h('li.visit', { 'data-visit': v.id },
        h('div.row-main', h('strong', dealerLink(v.dealer, v.dealer_name)), h('span.muted', fmtTime(v.at)), h('span.badge', managerLink(v.manager)),
          keys(v.purposes).map((x) => h('span.badge', t('purpose.' + x)))),
        v.summary ? h('div', v.summary) : null,
        v.lat != null ? h('div.muted', `GPS ${v.lat.toFixed(4)}, ${v.lon.toFixed(4)} ±${Math.round(v.accuracy_m)} m`) : null));
    }
    return [filterBar(reload), visitsChart(p.totals.per_week),
      h('div.actions', csvButton('visits', VISIT_COLUMNS(), () => fetchAll(`/api/visits?${q}`))),
      h('ul.timeline', items), pager(p, reload)];
  },
  async commitments(reload) {
    const q = qs({ status: opts.status, overdue: opts.overdue ? 'true' : '' });
    const p = await getJSON(`/api/commitments?${q}&page=${opts.page}&per_page=50`);
    const late = (c) => c.overdue; // the server's, from the core, on today in the commitment's territory's zone
    const cols = [[t('commitment.what'), (c) => c.what], [t('office.dealer'), (c) => c.dealer_name], [t('commitment.toWhom'), (c) => c.to_whom], [t('commitment.owner'), (c) => who(c.owner)],
      [t('commitment.due'), (c) => fmtDay(c.due)], [t('commitment.overdue'), (c) => (c.overdue ? t('commitment.overdue') : '')], [t('dealers.status'), (c) => t('cstatus.' + c.status, c.status)], [t('office.amount'), (c) => money(c.amount_minor, c.currency)]];
    return [filterBar(reload),
      h('div.tiles', p.totals.by_status.map((s) => h('div.tile', h('b', String(s.n)), h('span', t('cstatus.' + s.status, s.status)))), h('div.tile.overdue', h('b', String(p.totals.overdue)), h('span', t('commitment.overdue')))),
      h('div.actions', statusSelect(['open', 'kept', 'broken', 'cancelled'], 'cstatus.', reload),
        h('label.inline', h('input', { type: 'checkbox', checked: opts.overdue, onchange: (e) => { opts.overdue = e.target.checked; opts.page = 1; reload(); } }), t('office.overdueOnly')),
        csvButton('commitments', cols, () => fetchAll(`/api/commitments?${q}`))),
      table(cols.map((c) => c[0]), p.items.map((c) => h('tr', { 'data-commitment': c.id, class: late(c) ? 'overdue' : null }, h('td', c.what), dealerCell(c), h('td', c.to_whom),
        h('td', managerLink(c.owner)), h('td', fmtDay(c.due), late(c) ? h('span.badge.overdue', t('commitment.overdue')) : null), h('td', t('cstatus.' + c.status, c.status)), h('td', money(c.amount_minor, c.currency))))),
      pager(p, reload)];
  },
  async problems(reload) {
    const q = qs({ status: opts.status });
    const p = await getJSON(`/api/problems?${q}&page=${opts.page}&per_page=50`);
    const cols = [[t('problem.title'), (x) => x.title], [t('office.dealer'), (x) => x.dealer_name], [t('problem.category'), (x) => t('pcat.' + x.category)], [t('problem.severity'), (x) => t('sev.' + x.severity)],
      [t('dealers.status'), (x) => t('pstatus.' + x.status)], [t('problem.age'), (x) => x.age_days], [t('office.escalated'), (x) => (x.escalated ? '✓' : '')]];
    return [filterBar(reload),
      h('div.charts', ageChart(p.totals.open_by_age),
        h('div', h('h3', t('office.byCategory')), h('div.tiles', p.totals.open_by_category.map((c) => h('div.tile', h('b', String(c.n)), h('span', t('pcat.' + c.category))))))),
      h('div.actions', statusSelect(['open', 'in_progress', 'resolved'], 'pstatus.', reload), csvButton('problems', cols, () => fetchAll(`/api/problems?${q}`))),
      table(cols.map((c) => c[0]), p.items.map((x) => h('tr', { 'data-problem': x.id }, h('td', x.title), dealerCell(x), cols.slice(2).map((c) => h('td', String(c[1](x) ?? '')))))),
      pager(p, reload)];
  },
  async activities(reload) {
    const q = qs({ status: opts.status });
    const p = await getJSON(`/api/activities?${q}&page=${opts.page}&per_page=50`);
    const cols = [[t('office.activity'), (a) => a.title], [t('office.dealer'), (a) => a.dealer_name], [t('office.kind'), (a) => t('akind.' + a.kind, a.kind)],
      [t('office.dates'), (a) => `${a.starts} – ${a.ends}`], [t('office.budget'), (a) => money(a.budget_minor, a.currency)], [t('dealers.status'), (a) => t('astatus.' + a.status, a.status)],
      [t('office.manager'), (a) => who(a.planned_by)], [t('activity.invited'), (a) => a.invited], [t('activity.attended'), (a) => (a.status === 'held' ? a.attended : '')],
      [t('activity.attendance'), (a) => a.attendance ?? ''], [t('activity.result'), (a) => a.result ?? ''], [t('activity.claim'), (a) => (a.claim ? '✓' : '')]];
    return [filterBar(reload),
      h('div.tiles', p.totals.by_status.map((s) => h('div.tile', h('b', String(s.n)), h('span', t('astatus.' + s.status, s.status)))),
        p.totals.budget.map((b) => h('div.tile', { 'data-test': 'activity-budget' }, h('b', money(b.budget_minor, b.currency)), h('span', t('office.budget'))))),
      h('div.actions', statusSelect(['planned', 'held', 'cancelled'], 'astatus.', reload), csvButton('activities', cols, () => fetchAll(`/api/activities?${q}`))),
      table(cols.map((c) => c[0]), p.items.map((a) => h('tr', { 'data-activity': a.id }, h('td', a.title), dealerCell(a), cols.slice(2, 6).map((c) => h('td', String(c[1](a) ?? ''))),
        h('td', a.planned_by ? managerLink(a.planned_by) : ''), cols.slice(7).map((c) => h('td', String(c[1](a) ?? '')))))),
      pager(p, reload)];
  },
  async claims(reload) {
    const q = qs({ status: opts.status, overdue: opts.claimsOverdue ? 'true' : '' });
    const p = await getJSON(`/api/claims?${q}&page=${opts.page}&per_page=50`);
    const cols = [[t('claim.purpose'), (c) => c.purpose], [t('office.dealer'), (c) => c.dealer_name], [t('claim.category'), (c) => t('ecat.' + c.category)], [t('dealers.status'), (c) => t('claim.' + c.status)],
      [t('office.amount'), (c) => c.amount_minor / 100], [t('office.currency'), (c) => c.currency], [t('office.spent'), (c) => (c.spent_minor == null ? '' : c.spent_minor / 100)],
      [t('office.requestedBy'), (c) => who(c.requested_by)], [t('office.holder'), (c) => (c.owner && c.owner !== c.requested_by ? who(c.owner) : '')],
      [t('office.when'), (c) => fmtTime(c.requested_at)]];
    const stage = (s) => {
      const rows = p.totals.by_status.filter((x) => x.status === s);
      const n = rows.reduce((a, x) => a + x.n, 0);
      const here = p.items.filter((c) => c.status === s);
      return h('div.stage', { 'data-stage': s }, h('h3', `${t('claim.' + s)} (${n})`),
        h('div.muted', rows.map((x) => money(x.amount_minor, x.currency)).join(' + ') || '—'),
        h('ul.plain', here.map((c) => h('li', { 'data-claim': c.id }, h('strong', c.purpose),
          h('div.muted', dealerLink(c.dealer, c.dealer_name), ` · ${t('ecat.' + c.category)} · ${money(c.amount_minor, c.currency)} · ${who(c.requested_by)}`)))),
        n > here.length ? h('div.muted', `${t('office.onThisPage')} ${here.length} / ${n}`) : null);
    };
    return [filterBar(reload), await ageingCard(p.totals.overdue, reload), spendChart(p.totals.spend_by_month),
      h('div.actions', statusSelect(CLAIM_STAGES, 'claim.', reload),
        h('label.inline', h('input', { type: 'checkbox', name: 'overdue', checked: opts.claimsOverdue, onchange: (e) => { opts.claimsOverdue = e.target.checked; opts.page = 1; reload(); } }), t('ageing.overdueOnly')),
        csvButton('claims', cols, () => fetchAll(`/api/claims?${q}`))),
      h('div.pipeline', CLAIM_STAGES.map(stage)), pager(p, reload)];
  },
  /** Monthly sales against target (views/office-sales.js): achievement per dealer, territory and manager; figures; CSV import. */
  async sales(reload) {
    return (await import('./office-sales.js')).salesTab(reload, filterBar(reload), F, opts.page, (p) => pager(p, reload));
  },
  /** Profit and loss (views/office-pnl.js): sales against spend per month, dealer and category. */
  async pnl(reload) {
    return (await import('./office-pnl.js')).pnlTab(filterBar(reload), F);
  },
  /** The approvals inbox (views/approvals.js): approve or reject requested claims. */
  async approvals(reload) {
    return (await import('./approvals.js')).inbox(reload);
  },
  /** Head office's escalation queue (views/escalations.js): answer or assign escalated problems. */
  async escalations(reload) {
    return (await import('./escalations.js')).queue(reload);
  },
  /** Territory handovers (views/office-handovers.js): reassign, the open ones with held edits, the items at risk. */
  async handovers(reload) {
    const q = new URLSearchParams(Object.entries({ territory: F.territory, manager: F.manager, page: opts.page }).filter(([, v]) => v !== ''));
    return (await import('./office-handovers.js')).handoversTab(reload, filterBar(reload, { dates: false, dealer: false }), q, (p) => pager(p, reload));
  },
  async conflicts(reload) {
    const q = qs({}, {});
    const p = await getJSON(`/api/conflicts?${q}&page=${opts.page}&per_page=50`);
    const cols = [[t('office.dealer'), (c) => c.dealer_name ?? c.doc], [t('office.field'), (c) => fieldName(c.path ?? [])], [t('office.winner'), (c) => conflictValue(c, c.winner ?? {})],
      [t('office.other'), (c) => (c.others ?? []).map((o) => `${conflictValue(c, o)} (${who(o.by)})`).join('; ')]];
    // Head office and regional managers keep one value (the one shown included): an ordinary signed change (act.js).
    const role = session()?.role;
    const mayResolve = role === 'head_office' || role === 'regional';
    const value = (c, v, which) => h('div.cvalue', h('b', conflictValue(c, v)), h('div.muted', `${who(v.by)} · ${fmtTime(v.at)}`),
      mayResolve && c.id && c.kind !== 'rule' ? h('button', { type: 'button', 'data-action': 'keep', 'data-which': which, 'aria-label': `${t('conflict.keep')}: ${conflictValue(c, v)}`, onclick: async (e) => {
        const text = t('conflict.confirm').replace('{value}', conflictValue(c, v)).replace('{field}', fieldName(c.path ?? []));
        if (!(await confirmStep(text, t('conflict.keep')))) return;
        e.target.disabled = true;
        try {
          await (await import('../act.js')).resolveConflict(c.doc, c.id, v.value);
          toast(t('conflict.done'));
          reload();
        } catch (err) {
          toast(err.rule ? `${t('rule.' + err.rule, err.rule)}: ${err.message}` : errorText(err), 'error');
          e.target.disabled = false;
        }
      } }, t('conflict.keep')) : null);
    return [filterBar(reload, { dates: false }), h('div.actions', csvButton('conflicts', cols, () => fetchAll(`/api/conflicts?${q}`))),
      table(cols.map((c) => c[0]), p.items.map((c) => h('tr.conflict', { 'data-doc': c.doc, 'data-conflict': c.id, 'data-kind': c.kind }, c.dealer ? dealerCell(c) : h('td', c.doc), h('td', fieldName(c.path ?? [])),
        h('td.winner', value(c, c.winner ?? {}, 'winner')),
        h('td', (c.others ?? []).map((o) => value(c, o, 'other')))))), pager(p, reload)];
  },
};

export function officeView({ tab = 'territories' }) {
  const body = h('div.office-body', h('p.muted', t('common.loading')));
  const id = decodeURIComponent(location.hash.replace(/^#/, '').split('?')[0].split('/')[3] ?? '');
  const page = tab === 'dealer' || tab === 'manager';
  // Filters changed quickly start several loads: only the latest one is shown, never an earlier one that ends last.
  let latest = 0;
  const reload = async () => {
    const mine = ++latest;
    try {
      await loadNames();
      let out;
      if (tab === 'dealer') out = await (await import('./office-dealer.js')).dealerPage(id);
      else if (tab === 'manager') out = await (await import('./office-manager.js')).managerPage(id, reload);
      else out = await (loaders[tab] ?? loaders.territories)(reload);
      if (mine !== latest) return;
      fill(body, out);
      Object.assign(body.dataset, { ready: tab, territory: F.territory }); // what is shown, for the tests to wait on
    } catch (e) {
      if (mine === latest) body.replaceChildren(h('p.error', navigator.onLine ? errorText(e) : t('office.offline')));
    }
  };
  opts.page = 1;
  opts.status = '';
  reload();
  return h('section.office',
    h('h1', t('office.title')),
    h('nav.tabs', TABS.map((x) => h('a', { href: `#/office/${x}`, class: x === tab || (!page && x === 'territories' && !loaders[tab]) ? 'active' : null, 'data-tab': x }, t('office.' + x)))),
    body);
}
