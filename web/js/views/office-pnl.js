// Head office's profit and loss (損益) of what the filters select: sales against channel spend (claims spent or
// approved) per month, dealer and category, from GET /api/pnl; charts drawn as inline SVG, every table to CSV.
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { h } from '../ui.js';
import { money, dealerLink, table, csvButton, section } from './office-common.js';
import { spendChart, barChart } from './office-chart.js';
import { monthQuery, pct } from './office-sales.js';

/** Dealers listed on the page, highest spend first (the CSV holds every one). */
const SHOWN = 100;
const major = (minor) => (minor == null ? '' : minor / 100);

/** The P&L tab: `filters` is the shared filter bar, `F` its values. */
export async function pnlTab(filters, F) {
  const p = await getJSON(`/api/pnl?${monthQuery(F)}`);
  const monthCols = [[t('office.month'), (r) => r.month], [t('office.currency'), (r) => r.currency], [t('pnl.sales'), (r) => major(r.sales_minor)],
    [t('sales.target'), (r) => major(r.target_minor)], [t('pnl.spend'), (r) => major(r.spend_minor)], [t('pnl.net'), (r) => major(r.net_minor)]];
  const dealerCols = [[t('office.dealer'), (r) => r.name], [t('office.currency'), (r) => r.currency], [t('pnl.sales'), (r) => major(r.sales_minor)],
    [t('pnl.spend'), (r) => major(r.spend_minor)], [t('pnl.net'), (r) => major(r.net_minor)]];
  const categoryCols = [[t('claim.category'), (r) => t('ecat.' + r.category)], [t('office.currency'), (r) => r.currency], [t('pnl.spend'), (r) => major(r.spend_minor)]];
  // The commonest currency's months, as a chart of sales beside spend.
  const main = p.total.slice().sort((a, b) => b.sales_minor + b.spend_minor - a.sales_minor - a.spend_minor)[0]?.currency;
  const salesSpend = barChart({ title: `${t('pnl.salesAndSpend')}${main ? ` (${main})` : ''}`, label: (k) => t('pnl.' + k),
    groups: p.months.filter((m) => m.currency === main).flatMap((m) => [
      { label: m.month, values: { sales: m.sales_minor / 100 } }, { label: '', values: { spend: m.spend_minor / 100 } }]) });
  const row = (cells, attrs) => h('tr', attrs, cells.map((c) => h('td', c)));
  return [filters, h('p.muted', t('pnl.note')),
    h('div.tiles', p.total.map((x) => h('div.tile', { 'data-test': 'pnl-total', 'data-currency': x.currency, 'data-sales': x.sales_minor, 'data-spend': x.spend_minor, 'data-net': x.net_minor },
      h('b', money(x.net_minor, x.currency)), h('span', `${t('pnl.sales')} ${money(x.sales_minor, x.currency)} − ${t('pnl.spend')} ${money(x.spend_minor, x.currency)}`),
      h('span.muted', `${t('sales.achievement')} ${pct(x.target_minor ? x.sales_minor / x.target_minor : null)}`)))),
    h('div.charts', salesSpend, spendChart(p.by_month_category)),
    section(t('pnl.byMonth'), csvButton('pnl-months', monthCols, async () => p.months)),
    table(monthCols.map((c) => c[0]), p.months.map((r) => row([r.month, r.currency, money(r.sales_minor, r.currency), money(r.target_minor, r.currency),
      money(r.spend_minor, r.currency), money(r.net_minor, r.currency)], { 'data-month': r.month }))),
    section(t('pnl.byDealer'), csvButton('pnl-dealers', dealerCols, async () => p.by_dealer)),
    table(dealerCols.map((c) => c[0]), p.by_dealer.slice(0, SHOWN).map((r) => row([dealerLink(r.dealer, r.name), r.currency, money(r.sales_minor, r.currency),
      money(r.spend_minor, r.currency), money(r.net_minor, r.currency)], { 'data-dealer': r.dealer }))),
    p.by_dealer.length > SHOWN ? h('p.muted', { 'data-test': 'pnl-dealers-shown' }, `${t('office.onThisPage')} ${SHOWN} / ${p.by_dealer.length} · ${t('office.csvHasAll')}`) : null,
    section(t('pnl.byCategory'), csvButton('pnl-categories', categoryCols, async () => p.by_category)),
    table(categoryCols.map((c) => c[0]), p.by_category.map((r) => row([t('ecat.' + r.category), r.currency, money(r.spend_minor, r.currency)], { 'data-category': r.category })))];
}
