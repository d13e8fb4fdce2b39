// Head office, regional managers and managers: monthly sales per dealer against target (GET /api/sales), with
// achievement per dealer, territory and manager; setting a target or an actual (PUT /api/sales/{dealer}/{month});
// head office's CSV import of actuals (POST /api/sales/import, every line or none).
import { api, getJSON } from '../api.js';
import { t, lang } from '../i18n.js';
import { h, toast, errorText } from '../ui.js';
import { session } from '../session.js';
import { money, dealerLink, managerLink, table, fetchAll, csvButton, section, territories } from './office-common.js';

/** A territory's name (its id if unknown). */
export const territoryName = (id) => territories.find((x) => x.id === id)?.name ?? id;

export const pct = (x) => (x == null ? '—' : new Intl.NumberFormat(lang() === 'zh-Hant' ? 'zh-TW' : 'en-GB', { style: 'percent', maximumFractionDigits: 1 }).format(x));

/** `YYYY-MM` months of the shared filters' dates, as the sales and P&L queries take them. */
export function monthQuery(F, extra = {}) {
  const p = new URLSearchParams();
  const put = (k, v) => { if (v) p.set(k, v); };
  put('territory', F.territory);
  put('manager', F.manager);
  put('dealer', F.dealer);
  put('from', F.from.slice(0, 7));
  put('to', F.to.slice(0, 7));
  for (const [k, v] of Object.entries(extra)) put(k, v);
  return p.toString();
}

const sumTable = (rows, key, label, link) => table([label, t('office.currency'), t('sales.target'), t('sales.actual'), t('sales.achievement')],
  rows.map((r) => h('tr', { [`data-${key}`]: r[key] ?? '' }, h('td', link ? link(r[key]) : territoryName(r[key])), h('td', r.currency),
    h('td', money(r.target_minor, r.currency)), h('td', money(r.actual_minor, r.currency)), h('td.achievement', pct(r.achievement)))));

/** Setting one figure of the dealer picked in the filters (targets: head office and regional managers). */
function setForm(F, reload) {
  const role = session()?.role;
  const figures = role === 'head_office' || role === 'regional' ? ['actual', 'target'] : ['actual'];
  if (role === 'admin') return null;
  if (!F.dealer || F.dealer === '-') return h('p.muted', { 'data-test': 'sales-pick' }, t('sales.pickDealer'));
  const month = h('input', { type: 'month', name: 'month', required: true, value: new Date().toISOString().slice(0, 7) });
  const figure = h('select', { name: 'figure', 'aria-label': t('sales.figure') }, figures.map((f) => h('option', { value: f }, t('sales.' + f))));
  const amount = h('input', { type: 'number', name: 'amount', min: 0, step: '0.01', required: true, inputmode: 'decimal' });
  const currency = h('input', { name: 'currency', value: 'TWD', required: true, pattern: '[A-Z]{3}', maxlength: 3, style: 'min-width:5rem;width:5rem' });
  return h('form.filters', { 'data-form': 'sales', onsubmit: async (e) => {
    e.preventDefault();
    const b = e.target.querySelector('button');
    b.disabled = true;
    try {
      const body = JSON.stringify({ figure: figure.value, amount_minor: Math.round(Number(amount.value) * 100), currency: currency.value.trim() });
      await api(`/api/sales/${encodeURIComponent(F.dealer)}/${month.value}`, { method: 'PUT', body });
      toast(t('sales.saved'));
      reload();
    } catch (err) {
      toast(errorText(err), 'error');
      b.disabled = false;
    }
  } }, h('strong', { style: 'white-space:nowrap' }, F.dealerName), h('label.inline', h('span', t('office.month')), month), figure,
  h('label.inline', h('span', t('office.amount')), amount), h('label.inline', h('span', t('office.currency')), currency),
  h('button', { type: 'submit' }, t('sales.set')));
}

/** Head office's import of a CSV file of actuals. */
function importForm(reload) {
  if (session()?.role !== 'head_office') return null;
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv', 'aria-label': t('sales.import') });
  const out = h('div.import-result', { role: 'status' });
  return h('div.import', h('label.inline', h('span', t('sales.import')), file),
    h('button.small', { 'data-action': 'import', onclick: async (e) => {
      const b = e.currentTarget;
      const f = file.files?.[0];
      if (!f) { file.focus(); return; }
      b.disabled = true;
      out.replaceChildren();
      try {
        const r = JSON.parse(await api('/api/sales/import', { method: 'POST', body: await f.text(), type: 'text/csv; charset=utf-8' }));
        toast(t('sales.imported').replace('{n}', r.imported));
        reload();
      } catch (err) {
        // The lines named in the server's refusal, in the user's words; its own text (English) on request.
        const lines = [...new Set([...(err.message ?? '').matchAll(/line (\d+)/g)].map((m) => m[1]))];
        out.replaceChildren(h('p.error', errorText(err)),
          err.code === 'bad_csv' && lines.length ? h('p', { 'data-test': 'bad-lines' }, t('sales.badLines').replace('{lines}', lines.join(', '))) : null,
          err.code === 'bad_csv' ? h('details', h('summary', t('sales.details')), h('pre.muted', err.message)) : null);
      } finally {
        b.disabled = false;
      }
    } }, t('sales.importButton')), h('p.muted', t('sales.importHelp')), out);
}

/** The sales tab: `filters` is the shared filter bar, `F` its values, `page`/`pager` the shared paging. */
export async function salesTab(reload, filters, F, page, pager) {
  const q = monthQuery(F);
  const p = await getJSON(`/api/sales?${q}&page=${page}&per_page=50`);
  const cols = [[t('office.month'), (r) => r.month], [t('office.dealer'), (r) => r.dealer_name], [t('dealers.territory'), (r) => r.territory], [t('office.currency'), (r) => r.currency],
    [t('sales.target'), (r) => (r.target_minor == null ? '' : r.target_minor / 100)], [t('sales.actual'), (r) => (r.actual_minor == null ? '' : r.actual_minor / 100)],
    [t('sales.source'), (r) => (r.actual_source ? t('sales.source.' + r.actual_source) : '')], [t('sales.achievement'), (r) => (r.achievement == null ? '' : r.achievement)]];
  return [filters, setForm(F, reload), importForm(reload),
    h('div.tiles', p.totals.all.map((x) => h('div.tile', { 'data-test': 'sales-all' }, h('b', pct(x.achievement)),
      h('span', `${money(x.actual_minor, x.currency)} / ${money(x.target_minor, x.currency)}`)))),
    section(t('sales.byTerritory')), sumTable(p.totals.by_territory, 'territory', t('dealers.territory')),
    section(t('sales.byManager')), sumTable(p.totals.by_manager, 'manager', t('office.manager'), managerLink),
    section(t('sales.months'), csvButton('sales', cols, () => fetchAll(`/api/sales?${q}`))),
    table([t('office.month'), t('office.dealer'), t('dealers.territory'), t('sales.target'), t('sales.actual'), t('sales.achievement')],
      p.items.map((r) => h('tr', { 'data-sales': `${r.dealer}/${r.month}` }, h('td', r.month), h('td', dealerLink(r.dealer, r.dealer_name)),
        h('td', territoryName(r.territory)), h('td', money(r.target_minor, r.currency)),
        h('td', money(r.actual_minor, r.currency), r.actual_source === 'import' ? h('span.badge', t('sales.source.import')) : null),
        h('td.achievement', pct(r.achievement))))),
    pager(p)];
}
