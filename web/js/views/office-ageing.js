// Head office's dashboard, claims tab: how many spent claims are overdue for reconciliation (the server counts
// them by core's rule, GET /api/claims totals.overdue) and, for head office, after how many days (PUT /api/claim-ageing).
import { t } from '../i18n.js';
import { session } from '../session.js';
import { h, toast, errorText } from '../ui.js';
import { getJSON } from '../api.js';
import { setAgeing } from '../ageing.js';

/** The overdue tile and the ageing setting. */
export async function ageingCard(overdue, reload) {
  const { days } = await getJSON('/api/claim-ageing');
  const role = session()?.role;
  const tile = h('div.tile.overdue', { 'data-overdue-claims': overdue }, h('b', String(overdue)), h('span', t('ageing.overdue')));
  const rule = h('span.muted', t('ageing.rule').replace('{n}', String(days)));
  if (role !== 'head_office' && role !== 'admin') return h('section.card', { 'data-section': 'ageing' }, h('div.tiles', tile), rule);
  const input = h('input', { name: 'ageing-days', type: 'number', min: 0, max: 3650, step: 1, required: true, value: days, style: 'width:5em', 'aria-label': t('ageing.days') });
  const form = h('form.inline-form', { 'data-action': 'ageing-form', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await setAgeing(Number(input.value));
      toast(t('ageing.saved'));
      reload();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  } }, h('label.inline', t('ageing.days'), input), h('button', { type: 'submit' }, t('dealer.save')));
  return h('section.card', { 'data-section': 'ageing' }, h('div.tiles', tile), rule, form);
}
