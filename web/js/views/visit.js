// Manager: record a visit — GPS (or typed), purposes, summary, notes, attendees, the downline customers seen
// with the dealer (joint visit), photos, and commitments, problems and expense claims made during it (their
// sub-forms also serve views/record.js, outside a visit). Saved on the device first.
import { t } from '../i18n.js';
import * as local from '../local.js';
import * as photos from '../photos.js';
import * as db from '../db.js';
import { stamp, session } from '../session.js';
import { h, field, select, toast, errorText, fmtTime } from '../ui.js';
import { gpsBlock } from '../gps.js';

const PURPOSES = ['training', 'product_introduction', 'joint_visit', 'problem_solving', 'promotion_planning', 'expense_reconciliation'];
const PCATS = ['dealer', 'staff', 'market', 'expense', 'competitor'];
const SEVS = ['low', 'medium', 'high', 'critical'];
const ECATS = ['placement', 'salesman_wage', 'event', 'training', 'other'];

const localInput = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
const today = () => new Date().toISOString().slice(0, 10);

const LEGENDS = { commitment: 'dealer.allCommitments', problem: 'dealer.problems', claim: 'dealer.claims' };

/** The sub-form of one commitment, problem or claim (`kind`); `changed()` after any change or its removal. */
export function sub(kind, changed) {
  const legend = t(LEGENDS[kind]);
  const box = h(`fieldset.sub.${kind}`, { 'data-sub': kind }, h('legend', legend));
  const rm = h('button.link', { type: 'button', 'aria-label': `${t('visit.remove')} ${legend}`, title: t('visit.remove'), onclick: () => { box.remove(); changed(); } }, '✕');
  box.append(rm);
  if (kind === 'commitment') {
    box.append(field(t('commitment.what'), h('input', { name: 'what', required: true })),
      h('div.row3', field(t('commitment.toWhom'), h('input', { name: 'to_whom' })),
        field(t('commitment.due'), h('input', { name: 'due', type: 'date', required: true, min: today(), value: today() }))));
  } else if (kind === 'problem') {
    box.append(field(t('problem.title'), h('input', { name: 'title', required: true })),
      h('div.row3', field(t('problem.category'), select('category', PCATS.map((c) => [c, t('pcat.' + c)]), 'dealer')),
        field(t('problem.severity'), select('severity', SEVS.map((c) => [c, t('sev.' + c)]), 'medium'))),
      field(t('problem.description'), h('textarea', { name: 'description', rows: 2 })));
  } else {
    box.append(h('div.row3', field(t('claim.category'), select('category', ECATS.map((c) => [c, t('ecat.' + c)]), 'placement')),
      field(t('claim.amount'), h('input', { name: 'amount', type: 'number', min: 0, step: '0.01', required: true })),
      field(t('claim.currency'), h('input', { name: 'currency', value: 'TWD', pattern: '[A-Z]{3}', maxlength: 3, required: true }))),
    field(t('claim.purpose'), h('input', { name: 'purpose', required: true })));
  }
  return box;
}

const val = (box, name) => box.querySelector(`[name="${name}"]`).value.trim();

/** A sub-form's record as `[collection, record]`, made by `user` at `at` (epoch ms). */
export function subRecord(box, user, at) {
  const open = { by: user, at };
  const kind = box.dataset.sub;
  if (kind === 'commitment') {
    return ['commitments', {
      what: val(box, 'what'), to_whom: val(box, 'to_whom'), made_by: user, owner: user,
      made_at: at, due: val(box, 'due'), status: { open }, notes: {},
    }];
  }
  if (kind === 'problem') {
    return ['problems', {
      category: val(box, 'category'), severity: val(box, 'severity'), title: val(box, 'title'),
      description: val(box, 'description'), status: { open }, resolution: '', escalated: false, notes: {},
    }];
  }
  return ['claims', {
    category: val(box, 'category'), purpose: val(box, 'purpose'),
    amount: { minor: Math.round(Number(val(box, 'amount')) * 100), currency: val(box, 'currency').toUpperCase() },
    status: { requested: open },
  }];
}

/** The dealer's downline customers to tick as seen on this visit, core ones first; null when it has none. */
function customersBlock(downline) {
  const all = Object.entries(downline).sort(([, a], [, b]) => b.core - a.core || a.name.localeCompare(b.name));
  if (!all.length) return null;
  return h('fieldset', { 'data-test': 'customers' }, h('legend', t('jv.customers')), h('div.checks', all.map(([id, c]) =>
    h('label.inline', h('input', { type: 'checkbox', name: 'customers', value: id }), c.name, c.core ? h('span.badge', t('dealer.core')) : null))));
}

// A form being filled is kept as a draft in this user's database (per dealer), so a page the phone
// kills (Android does, for the camera) or a reload gives it back; saving the visit or discarding clears it.
const draftKey = (id) => `draft:${id}`;
/** The named fields of `el` (a sub-record's box, or the form outside them) as [[name, value]]; a checkbox as its value when checked. */
const values = (el, own) => [...el.querySelectorAll('[name]')]
  .filter((x) => x.type !== 'file' && (!own || !x.closest('[data-sub]')))
  .filter((x) => x.type !== 'checkbox' || x.checked)
  .map((x) => [x.name, x.value]);
/** Puts [[name, value]] back into `el`'s fields. */
function restore(el, pairs, own) {
  for (const x of el.querySelectorAll('[name]')) {
    if (x.type === 'file' || (own && x.closest('[data-sub]'))) continue;
    if (x.type === 'checkbox') x.checked = pairs.some(([n, v]) => n === x.name && v === x.value);
    else { const p = pairs.find(([n]) => n === x.name); if (p) x.value = p[1]; }
  }
}

export function visitView({ id }, rerender, navigate) {
  const doc = `dealer:${id}`;
  let d;
  try { d = local.state(doc); } catch { return h('p', t('dealer.notFound')); }
  const taken = new Map();
  const thumbs = h('div.thumbs');
  const thumb = (p) => thumbs.append(h('img', { src: photos.src(p), width: 72, height: 72, alt: `${t('visit.photos')} ${taken.size}` }));
  const file = h('input', { type: 'file', name: 'photos', accept: 'image/*', capture: 'environment', multiple: true, 'aria-label': t('visit.photos'), onchange: async () => {
    for (const f of file.files) {
      try {
        const p = await photos.compress(f);
        taken.set(p.hash, p);
        thumb(p);
        changed();
      } catch (e) { toast(errorText(e), 'error'); }
    }
    file.value = '';
  } });
  const subs = h('div.subs');
  const status = h('p.muted', { 'data-test': 'visit-status' });
  const drafted = h('p.muted', { 'data-test': 'draft' }); // a restored draft, with a way to discard it
  const kept = h('span.muted', { 'data-test': 'draft-saved' });

  // The draft: written 400 ms after the last change, at once when the page is hidden (the camera opens).
  let timer = null, over = false;
  const keep = () => {
    clearTimeout(timer);
    timer = null;
    if (over) return;
    const draft = { at: Date.now(), fields: values(form, true), subs: [...subs.querySelectorAll('[data-sub]')].map((b) => [b.dataset.sub, values(b)]), photos: [...taken.values()] };
    db.write({ meta: { [draftKey(id)]: draft } }).then(() => { if (!over && !timer) kept.textContent = t('draft.saved'); }, () => {});
  };
  function changed() {
    if (over) return;
    clearTimeout(timer);
    timer = setTimeout(keep, 400);
    kept.textContent = '';
  }
  const flush = () => { if (timer) keep(); }; // only a change not yet written
  const hidden = () => { if (document.visibilityState === 'hidden') flush(); };
  document.addEventListener('visibilitychange', hidden);
  addEventListener('pagehide', flush);
  /** Saved or discarded: the draft goes, and nothing writes it again. */
  const forget = () => {
    over = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', hidden);
    removeEventListener('pagehide', flush);
    return db.write({ meta: { [draftKey(id)]: undefined } }).catch(() => {});
  };
  const addSub = (kind) => subs.append(sub(kind, changed));
  db.get('meta', draftKey(id)).then((draft) => {
    drafted.dataset.restored = String(!!draft && !over);
    if (!draft || over) return;
    restore(form, draft.fields, true);
    for (const [kind, pairs] of draft.subs) { addSub(kind); restore(subs.lastElementChild, pairs); }
    for (const p of draft.photos) { taken.set(p.hash, p); thumb(p); }
    drafted.replaceChildren(`${t('draft.restored')} (${fmtTime(draft.at)}) `,
      h('button.small', { type: 'button', 'data-action': 'discard-draft', onclick: async () => { await forget(); rerender(); } }, t('draft.discard')));
  }, () => {});

  const form = h('form.visit-form', { oninput: changed, onchange: changed, onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const user = session().user;
    const at = new Date(f.get('at')).getTime() || Date.now();
    const gps = f.get('lat') !== '' && f.get('lon') !== '' ? {
      lat: Number(f.get('lat')), lon: Number(f.get('lon')),
      accuracy_m: Number(f.get('accuracy')) || 1, manual: f.get('manual') !== 'false',
    } : undefined;
    const set = (xs) => Object.fromEntries(xs.map((x) => [x, true]));
    const visit = {
      manager: user, at, ...(gps ? { gps } : {}),
      purposes: set(f.getAll('purposes')),
      summary: f.get('summary').trim(),
      attendees: set(f.get('attendees').split(/[,，、]/).map((s) => s.trim()).filter(Boolean)),
      customers: set(f.getAll('customers')),
      photos: Object.fromEntries([...taken.values()].map((p) => [p.hash, { mime: p.mime, bytes: p.bytes.length, taken_at: p.taken_at }])),
    };
    const note = f.get('notes').trim();
    form.querySelector('[type=submit]').disabled = true;
    try {
      // Photos first: a visit never names a photo this device does not hold.
      for (const p of taken.values()) await photos.keep(p);
      const records = [...subs.querySelectorAll('[data-sub]')].map((box) => subRecord(box, user, at));
      const vid = await local.edit('recordVisit', doc, visit, note, records, stamp(gps));
      await forget();
      toast(t('visit.saved'));
      navigate(`#/dealer/${id}`, vid);
    } catch (err) {
      status.textContent = errorText(err);
      status.dataset.code = err.code ?? 'error';
      toast(errorText(err), 'error');
      form.querySelector('[type=submit]').disabled = false;
    }
  } },
    field(t('visit.when'), h('input', { type: 'datetime-local', name: 'at', value: localInput(Date.now()), required: true })),
    drafted,
    gpsBlock(changed),
    h('fieldset', h('legend', t('visit.purposes')), h('div.checks', PURPOSES.map((p) => h('label.inline', h('input', { type: 'checkbox', name: 'purposes', value: p }), t('purpose.' + p))))),
    field(t('visit.summary'), h('input', { name: 'summary' })),
    field(t('visit.notes'), h('textarea', { name: 'notes', rows: 3 })),
    field(t('visit.attendees'), h('input', { name: 'attendees' })),
    customersBlock(d.profile.downline),
    h('fieldset', h('legend', t('visit.photos')), file, thumbs, h('p.muted', t('visit.photoUpload'))),
    subs,
    h('div.actions',
      h('button', { type: 'button', 'data-action': 'add-commitment', onclick: () => { addSub('commitment'); changed(); } }, t('visit.addCommitment')),
      h('button', { type: 'button', 'data-action': 'add-problem', onclick: () => { addSub('problem'); changed(); } }, t('visit.addProblem')),
      h('button', { type: 'button', 'data-action': 'add-claim', onclick: () => { addSub('claim'); changed(); } }, t('visit.addClaim'))),
    status,
    h('div.actions', h('button.primary', { type: 'submit', 'data-action': 'save-visit' }, t('visit.save')), kept, h('a.button', { href: `#/dealer/${id}`, 'data-action': 'cancel-visit', onclick: forget }, t('common.cancel'))));
  return h('section', h('a.back', { href: `#/dealer/${id}` }, `← ${d.profile.name}`), h('h1', `${t('visit.title')} · ${d.profile.name}`), form);
}
