// Manager: a dealer's monthly sales on the phone's dealer page (issue 10, item 5): target, actual and achievement of
// the last six months, and the form that enters a month's actual (PUT /api/sales/{dealer}/{month}). Sales live on the
// server, not in the device's documents, so this works online only; it is lazy (a manager's first visit skips it).
import { api, getJSON } from '../api.js';
import '../i18n-office.js';
import { t, lang } from '../i18n.js';
import { h, toast, errorText, fmtMoney } from '../ui.js';

const pct = (x) => (x == null ? '—' : new Intl.NumberFormat(lang() === 'zh-Hant' ? 'zh-TW' : 'en-GB', { style: 'percent', maximumFractionDigits: 1 }).format(x));
const money = (minor, currency) => (minor == null ? '—' : fmtMoney({ minor, currency }));

/** `YYYY-MM`, `back` months before this one. */
function month(back = 0) {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - back);
  return d.toISOString().slice(0, 7);
}

/** Fills the dealer page's sales card `box` (its heading stays) for dealer `id`. */
export async function fillSales(box, id) {
  const p = await getJSON(`/api/sales?dealer=${encodeURIComponent(id)}&from=${month(5)}&to=${month()}&per_page=12`);
  const when = h('input', { type: 'month', name: 'month', required: true, value: month(), max: month() });
  const amount = h('input', { type: 'number', name: 'amount', min: 0, step: '0.01', required: true, inputmode: 'decimal' });
  const currency = p.items[0]?.currency ?? 'TWD';
  const form = h('form.record', { 'data-form': 'sales-actual', onsubmit: async (e) => {
    e.preventDefault();
    const b = form.querySelector('button');
    b.disabled = true;
    try {
      const body = JSON.stringify({ figure: 'actual', amount_minor: Math.round(Number(amount.value) * 100), currency });
      await api(`/api/sales/${encodeURIComponent(id)}/${when.value}`, { method: 'PUT', body });
      toast(t('sales.saved'));
      await fillSales(box, id);
    } catch (err) {
      toast(errorText(err), 'error');
      b.disabled = false;
    }
  } }, h('label', h('span', t('office.month')), when), h('label', h('span', `${t('sales.actual')} (${currency})`), amount),
  h('div.actions', h('button', { type: 'submit' }, t('sales.set'))));
  const rows = p.items.slice().sort((a, b) => b.month.localeCompare(a.month));
  box.replaceChildren(box.querySelector('h2'),
    rows.length ? h('table.sales', h('thead', h('tr', [t('office.month'), t('sales.target'), t('sales.actual'), t('sales.achievement')].map((x) => h('th', x)))),
      h('tbody', rows.map((r) => h('tr', { 'data-sales': r.month }, h('td', r.month), h('td', money(r.target_minor, r.currency)),
        h('td', money(r.actual_minor, r.currency)), h('td', pct(r.achievement)))))) : h('p.muted', t('dealer.none')),
    form);
}
