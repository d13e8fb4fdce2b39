// Head office and regional managers: the merged picture from the server's read API.
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { h, fill, fmtTime, fmtMoney, errorText, fieldName, daysAgo } from '../ui.js';

export const TABS = ['territories', 'dealers', 'visits', 'commitments', 'problems', 'claims', 'conflicts'];
const CLAIM_STAGES = ['requested', 'approved', 'rejected', 'spent', 'reconciled'];
const opts = { overdue: false, page: 1, q: '' };

const money = (minor, currency) => (minor == null ? '—' : fmtMoney({ minor, currency }));
const table = (heads, rows, attrs = {}) => h('div.table-wrap', h('table', attrs,
  h('thead', h('tr', heads.map((x) => h('th', x)))),
  h('tbody', rows.length ? rows : h('tr', h('td', { colspan: heads.length }, t('dealer.none'))))));
const dealerCell = (x) => h('td', x.dealer_name ?? x.dealer ?? '');
const valueText = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
const names = new Map(); // user id → name, from the territories' managers
const who = (id) => names.get(id) ?? id ?? '?';

async function loadNames() {
  if (names.size) return;
  for (const x of await getJSON('/api/territories')) for (const m of x.managers) names.set(m.id, m.name);
}

function pager(p, reload) {
  const pages = Math.max(1, Math.ceil(p.total / p.per_page));
  return h('div.pager', h('span', `${t('office.total')} ${p.total}`),
    h('button', { disabled: p.page <= 1, onclick: () => { opts.page -= 1; reload(); } }, t('office.prev')),
    h('span', `${p.page} / ${pages}`),
    h('button', { disabled: p.page >= pages, onclick: () => { opts.page += 1; reload(); } }, t('office.next')));
}

function counts(items, key) {
  const c = {};
  for (const x of items) c[x[key]] = (c[x[key]] ?? 0) + 1;
  return c;
}

const loaders = {
  async territories() {
    const list = await getJSON('/api/territories');
    return table([t('dealers.territory'), t('office.region'), t('office.managers'), t('nav.dealers')],
      list.map((x) => h('tr', { 'data-territory': x.id }, h('td', x.name), h('td', x.region), h('td', x.managers.map((m) => m.name).join('、')), h('td', x.dealer_count))));
  },
  async dealers(reload) {
    const p = await getJSON(`/api/dealers?page=${opts.page}&per_page=50&q=${encodeURIComponent(opts.q)}`);
    const now = Date.now();
    return [h('input', { type: 'search', placeholder: t('dealers.search'), value: opts.q, onchange: (e) => { opts.q = e.target.value; opts.page = 1; reload(); } }),
      table([t('dealer.name'), t('dealers.territory'), t('dealers.kind'), t('dealers.status'), t('dealers.lastVisit'), t('dealers.openCommitments'), t('dealer.problems')],
        p.items.map((x) => h('tr', { 'data-dealer': x.id }, h('td', x.name), h('td', x.territory), h('td', t('kind.' + x.kind)), h('td', t('status.' + x.status)),
          h('td', x.last_visit_at ? `${daysAgo(x.last_visit_at, now)} ${t('dealers.daysAgo')}` : t('dealers.never')),
          h('td', x.open_commitments), h('td', x.open_problems)))), pager(p, reload)];
  },
  async visits(reload) {
    const p = await getJSON(`/api/visits?page=${opts.page}&per_page=50`);
    let day = '';
    const items = [];
    for (const v of p.items) {
      const d = new Date(v.at).toLocaleDateString();
      if (d !== day) { day = d; items.push(h('li.day', d)); }
      items.push(h('li.visit', { 'data-visit': v.id },
        h('div.row-main', h('strong', v.dealer_name), h('span.muted', fmtTime(v.at)), h('span.badge', who(v.manager)),
          (Array.isArray(v.purposes) ? v.purposes : Object.keys(v.purposes ?? {})).map((x) => h('span.badge', t('purpose.' + x)))),
        v.summary ? h('div', v.summary) : null,
        v.lat != null ? h('div.muted', `GPS ${v.lat.toFixed(4)}, ${v.lon.toFixed(4)} ±${Math.round(v.accuracy_m)} m`) : null));
    }
    return [h('ul.timeline', items), pager(p, reload)];
  },
  async commitments(reload) {
    const p = await getJSON(`/api/commitments?status=open${opts.overdue ? '&overdue=true' : ''}&page=${opts.page}&per_page=50`);
    const today = new Date().toISOString().slice(0, 10);
    return [h('label.inline', h('input', { type: 'checkbox', checked: opts.overdue, onchange: (e) => { opts.overdue = e.target.checked; opts.page = 1; reload(); } }), t('office.overdueOnly')),
      table([t('commitment.what'), t('office.dealer'), t('commitment.toWhom'), t('commitment.owner'), t('commitment.due'), t('office.amount')],
        p.items.map((c) => h('tr', { 'data-commitment': c.id, class: c.due < today ? 'overdue' : null }, h('td', c.what), dealerCell(c), h('td', c.to_whom),
          h('td', who(c.owner)), h('td', c.due, c.due < today ? h('span.badge.overdue', t('commitment.overdue')) : null), h('td', money(c.amount_minor, c.currency))))), pager(p, reload)];
  },
  async problems() {
    const p = await getJSON('/api/problems?per_page=500');
    const open = p.items.filter((x) => x.status !== 'resolved').sort((a, b) => b.age_days - a.age_days);
    const byCat = counts(open, 'category');
    return [h('h3', t('office.byCategory')),
      h('div.tiles', Object.entries(byCat).map(([c, n]) => h('div.tile', h('b', n), h('span', t('pcat.' + c))))),
      table([t('problem.title'), t('office.dealer'), t('problem.category'), t('problem.severity'), t('dealers.status'), t('problem.age')],
        open.map((x) => h('tr', { 'data-problem': x.id }, h('td', x.title), dealerCell(x), h('td', t('pcat.' + x.category)), h('td', t('sev.' + x.severity)), h('td', t('pstatus.' + x.status)), h('td', x.age_days))))];
  },
  async claims() {
    const p = await getJSON('/api/claims?per_page=500');
    const cols = CLAIM_STAGES.map((s) => {
      const items = p.items.filter((c) => c.status === s);
      const sums = {};
      for (const c of items) sums[c.currency] = (sums[c.currency] ?? 0) + c.amount_minor;
      return h('div.stage', { 'data-stage': s }, h('h3', `${t('claim.' + s)} (${items.length})`),
        h('div.muted', Object.entries(sums).map(([cur, m]) => money(m, cur)).join(' + ') || '—'),
        h('ul.plain', items.map((c) => h('li', { 'data-claim': c.id }, h('strong', c.purpose), h('div.muted', `${c.dealer_name} · ${t('ecat.' + c.category)} · ${money(c.amount_minor, c.currency)}`)))));
    });
    return h('div.pipeline', cols);
  },
  async conflicts(reload) {
    const p = await getJSON(`/api/conflicts?page=${opts.page}&per_page=50`);
    return [table([t('office.dealer'), t('office.field'), t('office.winner'), t('office.other')],
      p.items.map((c) => h('tr.conflict', { 'data-doc': c.doc }, dealerCell(c), h('td', fieldName(c.path ?? [])),
        h('td', h('b', valueText(c.winner?.value)), h('div.muted', `${who(c.winner?.by)} · ${fmtTime(c.winner?.at)}`)),
        h('td', (c.others ?? []).map((o) => h('div', h('b', valueText(o.value)), h('div.muted', `${who(o.by)} · ${fmtTime(o.at)}`))))))), pager(p, reload)];
  },
};

export function officeView({ tab = 'territories' }) {
  const body = h('div.office-body', h('p.muted', t('common.loading')));
  const reload = async () => {
    try {
      await loadNames();
      const out = await loaders[tab](reload);
      fill(body, out);
    } catch (e) {
      body.replaceChildren(h('p.error', navigator.onLine ? errorText(e) : t('office.offline')));
    }
  };
  opts.page = 1;
  reload();
  return h('section.office',
    h('h1', t('office.title')),
    h('nav.tabs', TABS.map((x) => h('a', { href: `#/office/${x}`, class: x === tab ? 'active' : null, 'data-tab': x }, t('office.' + x)))),
    body);
}
