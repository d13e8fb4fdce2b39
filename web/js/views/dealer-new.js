// Manager: add a dealer or a prospect in the field — name, kind, tier, status, address, territory, the phone's GPS as its location. Saved on the device first.
import { t } from '../i18n.js';
import * as local from '../local.js';
import { stamp } from '../session.js';
import { h, field, select, toast, errorText } from '../ui.js';
import { gpsBlock } from '../gps.js';
import { KINDS } from './dealers.js';

export function dealerNewView(navigate) {
  const mine = local.territories().map((x) => [x.id, x.profile.name]).sort((a, b) => a[1].localeCompare(b[1]));
  const back = h('a.back', { href: '#/dealers' }, t('dealer.back'));
  if (!mine.length) return h('section', back, h('h1', t('net.newTitle')), h('p.muted', t('net.noTerritory')));
  const status = h('p.error', { role: 'alert', 'data-test': 'new-dealer-error' });
  const submit = h('button.primary', { type: 'submit', 'data-action': 'save-dealer' }, t('dealer.save'));
  const form = h('form.new-dealer', { onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const at = f.get('lat') !== '' && f.get('lon') !== '' ? { lat: Number(f.get('lat')), lon: Number(f.get('lon')) } : null;
    const profile = { name: f.get('name').trim(), kind: f.get('kind'), tier: Number(f.get('tier')), status: f.get('status'), address: f.get('address').trim(), ...(at ? { location: at } : {}) };
    submit.disabled = true;
    try {
      const gps = at && { ...at, accuracy_m: Number(f.get('accuracy')) || 1, manual: f.get('manual') !== 'false' };
      const id = await local.edit('createDealer', `territory:${f.get('territory')}`, profile, stamp(gps));
      toast(t('visit.saved'));
      navigate(`#/dealer/${id}`);
    } catch (err) {
      status.textContent = errorText(err);
      submit.disabled = false;
    }
  } },
    field(t('dealer.name'), h('input', { name: 'name', required: true, maxlength: 200 })),
    h('div.row3',
      field(t('dealers.kind'), select('kind', KINDS.map((k) => [k, t('kind.' + k)]), 'retailer')),
      field(t('dealer.tier'), h('input', { name: 'tier', type: 'number', min: 1, max: 5, value: 3, required: true })),
      field(t('dealers.status'), select('status', ['prospect', 'active'].map((k) => [k, t('status.' + k)]), 'prospect'))),
    field(t('dealer.address'), h('input', { name: 'address' })),
    mine.length > 1 ? field(t('dealers.territory'), select('territory', mine, mine[0][0])) : h('input', { type: 'hidden', name: 'territory', value: mine[0][0] }),
    gpsBlock(() => {}),
    status,
    h('div.actions', submit, h('a.button', { href: '#/dealers' }, t('common.cancel'))));
  return h('section', back, h('h1', t('net.newTitle')), form);
}
