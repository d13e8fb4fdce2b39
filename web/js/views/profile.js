// Manager: a dealer's profile cards — name, kind, tier, status (a warning before terminating one with open work), contacts, brands, downline customers.
import { t } from '../i18n.js';
import * as local from '../local.js';
import { stamp } from '../session.js';
import { h, field, select, toast, errorText, confirmStep, fmtMoney, colon } from '../ui.js';
import { KINDS, STATUSES } from './dealers.js';

const rid = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => (b % 36).toString(36)).join('');

/** Saves a merge patch of the profile (records are merged into, never deleted), then says so and redraws. */
async function save(doc, patch, rerender) {
  try {
    await local.edit('updateProfile', doc, patch, stamp());
    toast(t('visit.saved'));
    rerender();
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

const section = (title, testid, ...body) => h('section.card', { 'data-section': testid }, h('h2', title), ...body);

/** A record's edit form (`fields`: [[name, label key, input attributes]]; `core` is a checkbox), shown and hidden by
 * its button (`label`, `action`, named for `what`); `done(values)` saves it. */
function recordForm(fields, rec, done, label, action, what) {
  const form = h('form.record', { hidden: true, onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    done(Object.fromEntries(fields.map(([n]) => [n, n === 'core' ? f.has(n) : f.get(n).trim()])));
  } },
    fields.map(([n, key, attrs]) => (n === 'core'
      ? h('label.inline', h('input', { type: 'checkbox', name: n, checked: rec.core }), t(key))
      : field(t(key), h('input', { name: n, value: rec[n] ?? '', ...attrs })))),
    h('div.actions', h('button.primary', { type: 'submit' }, t('dealer.save')),
      h('button', { type: 'button', onclick: () => { form.hidden = true; } }, t('common.cancel'))));
  const toggle = h('button', { type: 'button', 'data-action': action, 'aria-label': what ? `${label} ${what}` : null, onclick: () => { form.hidden = !form.hidden; } }, label);
  return [toggle, form];
}

const CONTACT = [['name', 'net.person', { required: true }], ['role', 'net.role'], ['phone', 'net.phone', { type: 'tel' }], ['email', 'net.email', { type: 'email' }]];
const CUSTOMER = [['name', 'net.person', { required: true }], ['core', 'dealer.core'], ['note', 'net.note']];

/** Open commitments and claims not reconciled yet: what terminating the dealer would leave hanging. */
const openWork = (d) => [
  ...Object.values(d.commitments).filter((c) => c.standing.open).map((c) => `${t('net.openCommitment')}${colon()}${c.what}`),
  ...Object.values(d.claims).filter((c) => c.standing.open).map((c) => `${t('net.openClaim')}${colon()}${c.purpose} ${fmtMoney(c.amount)}`),
];

/** Marks a contact or brand gone (a record is never deleted), after asking. */
async function remove(doc, coll, key, name, rerender) {
  if (await confirmStep(t('net.removeAsk').replace('{what}', name), t('net.remove'))) save(doc, { [coll]: { [key]: { gone: true } } }, rerender);
}

function contactsList(p, doc, rerender) {
  const items = Object.entries(p.contacts).filter(([, c]) => !c.gone).map(([id, c]) => {
    const [edit, form] = recordForm(CONTACT, c, (v) => save(doc, { contacts: { [id]: v } }, rerender), t('net.edit'), 'edit-contact', c.name);
    return h('li', { 'data-contact': id },
      h('div', h('strong', c.name), c.role ? ` (${c.role})` : '', c.phone ? ` ☎ ${c.phone}` : '', c.email ? ` ✉ ${c.email}` : ''),
      h('div.actions', edit, h('button', { type: 'button', 'data-action': 'remove-contact', 'aria-label': `${t('net.remove')} ${c.name}`, onclick: () => remove(doc, 'contacts', id, c.name, rerender) }, t('net.remove'))),
      form);
  });
  const [add, form] = recordForm(CONTACT, {}, (v) => save(doc, { contacts: { [rid()]: v } }, rerender), t('net.addContact'), 'add-contact');
  return [h('ul.plain', items.length ? items : h('li.muted', t('dealer.none'))), add, form];
}

function brandsList(p, doc, rerender) {
  const items = Object.entries(p.brands).filter(([, b]) => !b.gone).map(([name, b]) => h('li', { 'data-brand': name }, h('strong', name), ' ',
    h('label.inline', h('input', { type: 'checkbox', name: 'exclusive', checked: b.exclusive, 'aria-label': `${name} ${t('net.exclusive')}`, onchange: (e) => save(doc, { brands: { [name]: { exclusive: e.target.checked } } }, rerender) }), t('net.exclusive')),
    h('button', { type: 'button', 'data-action': 'remove-brand', 'aria-label': `${t('net.remove')} ${name}`, onclick: () => remove(doc, 'brands', name, name, rerender) }, t('net.remove'))));
  const name = h('input', { name: 'brand', required: true, maxlength: 200, 'aria-label': t('net.brand'), placeholder: t('net.brand') });
  const only = h('input', { type: 'checkbox', name: 'exclusive' });
  // A brand carried again comes back (the record stays; `gone` is switched off).
  const add = h('form.inline-form.add-row', { 'data-action': 'add-brand', onsubmit: (e) => {
    e.preventDefault();
    const b = name.value.trim();
    save(doc, { brands: { [b]: { exclusive: only.checked, ...(p.brands[b] ? { gone: false } : {}) } } }, rerender);
  } }, name, h('label.inline', only, t('net.exclusive')), h('button', { type: 'submit' }, t('net.addBrand')));
  return [h('ul.plain', items.length ? items : h('li.muted', t('dealer.none'))), add];
}

export function profileCard(d, doc, rerender) {
  const p = d.profile;
  const view = h('dl.profile',
    h('dt', t('dealers.kind')), h('dd', t('kind.' + p.kind)),
    h('dt', t('dealers.status')), h('dd', { 'data-field': 'status' }, t('status.' + p.status)),
    h('dt', t('dealer.tier')), h('dd', String(p.tier)),
    h('dt', t('dealer.address')), h('dd', { 'data-field': 'address' }, p.address || '—'),
    p.location ? [h('dt', t('net.location')), h('dd', { 'data-field': 'location' }, `${p.location.lat.toFixed(5)}, ${p.location.lon.toFixed(5)}`)] : null);
  const form = h('form.edit', { hidden: true, onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const patch = {};
    for (const k of ['name', 'address', 'kind', 'status']) if (f.get(k) !== p[k]) patch[k] = f.get(k);
    if (Number(f.get('tier')) !== p.tier) patch.tier = Number(f.get('tier'));
    if (!Object.keys(patch).length) { form.hidden = true; return; }
    const open = patch.status === 'terminated' ? openWork(d) : [];
    if (open.length && !(await confirmStep([t('net.terminateAsk'), ...open.flatMap((x) => [h('br'), `• ${x}`])], t('net.terminate')))) return;
    save(doc, patch, rerender);
  } },
    field(t('dealer.name'), h('input', { name: 'name', value: p.name, required: true })),
    field(t('dealer.address'), h('input', { name: 'address', value: p.address })),
    field(t('dealers.kind'), select('kind', KINDS.map((k) => [k, t('kind.' + k)]), p.kind)),
    field(t('dealers.status'), select('status', STATUSES.map((k) => [k, t('status.' + k)]), p.status)),
    field(t('dealer.tier'), h('input', { name: 'tier', type: 'number', min: 1, max: 5, value: p.tier })),
    h('div.actions', h('button.primary', { type: 'submit' }, t('dealer.save')),
      h('button', { type: 'button', onclick: () => { form.hidden = true; } }, t('common.cancel'))));
  return section(t('dealer.profile'), 'profile',
    view, h('button', { type: 'button', 'data-action': 'edit-profile', onclick: () => { form.hidden = !form.hidden; } }, t('dealer.edit')), form,
    h('h3', t('dealer.contacts')), h('div', { 'data-part': 'contacts' }, contactsList(p, doc, rerender)),
    h('h3', t('dealer.brands')), h('div', { 'data-part': 'brands' }, brandsList(p, doc, rerender)));
}

export function downlineCard(d, doc, rerender) {
  const items = Object.entries(d.profile.downline).map(([id, c]) => h('li', { 'data-customer': id },
    h('div', h('strong', c.name), c.core ? h('span.badge', t('dealer.core')) : null, c.note ? ` — ${c.note}` : ''),
    recordForm(CUSTOMER, c, (v) => save(doc, { downline: { [id]: v } }, rerender), t('net.edit'), 'edit-customer', c.name)));
  const name = h('input', { name: 'customer', placeholder: t('dealer.addCustomer'), 'aria-label': t('dealer.addCustomer'), required: true });
  const core = h('input', { type: 'checkbox', name: 'core' });
  const note = h('input', { name: 'note', placeholder: t('net.note'), 'aria-label': t('net.note') });
  const add = h('form.inline-form.add-row', { onsubmit: (e) => {
    e.preventDefault();
    save(doc, { downline: { [rid()]: { name: name.value.trim(), core: core.checked, note: note.value.trim() } } }, rerender);
  } }, name, h('label.inline', core, t('dealer.core')), note, h('button', { type: 'submit', 'aria-label': t('dealer.addCustomer'), title: t('dealer.addCustomer') }, '+'));
  return section(t('dealer.downline'), 'downline', add, h('ul.plain', items.length ? items : h('li.muted', t('dealer.none'))));
}
