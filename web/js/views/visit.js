// Manager: record a visit — GPS (or typed), purposes, summary, notes, attendees, photos,
// and commitments, problems and expense claims made during it. Saved on the device first.
import { t } from '../i18n.js';
import * as local from '../local.js';
import * as photos from '../photos.js';
import { stamp, session } from '../session.js';
import { h, field, select, toast, errorText } from '../ui.js';

const PURPOSES = ['training', 'product_introduction', 'joint_visit', 'problem_solving', 'promotion_planning', 'expense_reconciliation'];
const PCATS = ['dealer', 'staff', 'market', 'expense', 'competitor'];
const SEVS = ['low', 'medium', 'high', 'critical'];
const ECATS = ['placement', 'salesman_wage', 'event', 'training', 'other'];

const localInput = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
const today = () => new Date().toISOString().slice(0, 10);

function gpsBlock() {
  const lat = h('input', { name: 'lat', type: 'number', step: 'any', min: -90, max: 90 });
  const lon = h('input', { name: 'lon', type: 'number', step: 'any', min: -180, max: 180 });
  const acc = h('input', { name: 'accuracy', type: 'number', step: 'any', min: 0 });
  const manual = h('input', { type: 'hidden', name: 'manual', value: 'true' });
  const note = h('span.muted');
  const typed = () => { manual.value = 'true'; };
  [lat, lon, acc].forEach((i) => i.addEventListener('input', typed));
  const locate = () => {
    if (!navigator.geolocation) { note.textContent = t('visit.gpsFailed'); return; }
    note.textContent = t('visit.locating');
    navigator.geolocation.getCurrentPosition((p) => {
      lat.value = p.coords.latitude.toFixed(6);
      lon.value = p.coords.longitude.toFixed(6);
      acc.value = Math.max(1, Math.round(p.coords.accuracy));
      manual.value = 'false';
      note.textContent = `±${acc.value} m`;
    }, () => { note.textContent = t('visit.gpsFailed'); }, { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 });
  };
  return h('fieldset', h('legend', t('visit.gps')),
    h('div.actions', h('button', { type: 'button', 'data-action': 'locate', onclick: locate }, t('visit.locate')), note),
    h('div.row3', field(t('visit.lat'), lat), field(t('visit.lon'), lon), field(t('visit.accuracy'), acc)), manual);
}

function sub(kind, legend) {
  const box = h(`fieldset.sub.${kind}`, { 'data-sub': kind }, h('legend', legend));
  const rm = h('button.link', { type: 'button', onclick: () => box.remove() }, '✕');
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

export function visitView({ id }, _rerender, navigate) {
  const doc = `dealer:${id}`;
  let d;
  try { d = local.state(doc); } catch { return h('p', t('dealer.notFound')); }
  const taken = new Map();
  const thumbs = h('div.thumbs');
  const file = h('input', { type: 'file', name: 'photos', accept: 'image/*', capture: 'environment', multiple: true, onchange: async () => {
    for (const f of file.files) {
      try {
        const p = await photos.compress(f);
        taken.set(p.hash, p);
        thumbs.append(h('img', { src: photos.src(p), width: 72, height: 72, alt: p.hash.slice(0, 8) }));
      } catch (e) { toast(errorText(e), 'error'); }
    }
    file.value = '';
  } });
  const subs = h('div.subs');
  const status = h('p.muted', { 'data-test': 'visit-status' });
  const form = h('form.visit-form', { onsubmit: async (e) => {
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
      photos: Object.fromEntries([...taken.values()].map((p) => [p.hash, { mime: p.mime, bytes: p.bytes.length, taken_at: p.taken_at }])),
    };
    const note = f.get('notes').trim();
    form.querySelector('[type=submit]').disabled = true;
    try {
      // Photos first: a visit never names a photo this device does not hold.
      for (const p of taken.values()) await photos.keep(p);
      const vid = await local.edit([doc], (r) => {
        const by = stamp(gps);
        const v = r.insert(doc, 'visits', undefined, JSON.stringify(visit), by);
        if (note) r.addNote(doc, 'visits', v, note, by);
        const open = { by: user, at };
        for (const box of subs.querySelectorAll('[data-sub]')) {
          const kind = box.dataset.sub;
          if (kind === 'commitment') {
            r.insert(doc, 'commitments', undefined, JSON.stringify({
              what: val(box, 'what'), to_whom: val(box, 'to_whom'), made_by: user, owner: user,
              made_at: at, due: val(box, 'due'), visit: v, status: { open }, notes: {},
            }), by);
          } else if (kind === 'problem') {
            r.insert(doc, 'problems', undefined, JSON.stringify({
              category: val(box, 'category'), severity: val(box, 'severity'), title: val(box, 'title'),
              description: val(box, 'description'), visit: v, status: { open }, resolution: '', escalated: false, notes: {},
            }), by);
          } else {
            r.insert(doc, 'claims', undefined, JSON.stringify({
              category: val(box, 'category'), purpose: val(box, 'purpose'),
              amount: { minor: Math.round(Number(val(box, 'amount')) * 100), currency: val(box, 'currency').toUpperCase() },
              visit: v, status: { requested: open },
            }), by);
          }
        }
        return v;
      });
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
    gpsBlock(),
    h('fieldset', h('legend', t('visit.purposes')), h('div.checks', PURPOSES.map((p) => h('label.inline', h('input', { type: 'checkbox', name: 'purposes', value: p }), t('purpose.' + p))))),
    field(t('visit.summary'), h('input', { name: 'summary' })),
    field(t('visit.notes'), h('textarea', { name: 'notes', rows: 3 })),
    field(t('visit.attendees'), h('input', { name: 'attendees' })),
    h('fieldset', h('legend', t('visit.photos')), file, thumbs, h('p.muted', t('visit.photoUpload'))),
    subs,
    h('div.actions',
      h('button', { type: 'button', 'data-action': 'add-commitment', onclick: () => subs.append(sub('commitment', t('dealer.allCommitments'))) }, t('visit.addCommitment')),
      h('button', { type: 'button', 'data-action': 'add-problem', onclick: () => subs.append(sub('problem', t('dealer.problems'))) }, t('visit.addProblem')),
      h('button', { type: 'button', 'data-action': 'add-claim', onclick: () => subs.append(sub('claim', t('dealer.claims'))) }, t('visit.addClaim'))),
    status,
    h('div.actions', h('button.primary', { type: 'submit', 'data-action': 'save-visit' }, t('visit.save')), h('a.button', { href: `#/dealer/${id}` }, t('common.cancel'))));
  return h('section', h('a.back', { href: `#/dealer/${id}` }, `← ${d.profile.name}`), h('h1', `${t('visit.title')} · ${d.profile.name}`), form);
}
