// Manager: a dealer's promotions and customer events — plan one (kind, title, dates, budget, invited downline
// customers), record it held (who came, headcount, result, photos) or cancel it, and turn its budget into a claim.
import { t } from '../i18n.js';
import * as local from '../local.js';
import * as photos from '../photos.js';
import { session, stamp } from '../session.js';
import { h, fmtDay, fmtMoney, statusBadge, statusText, confirmStep, toast, field, select, errorText, colon } from '../ui.js';

const KINDS = ['promotion', 'customer_event'];

/** Runs one of local's named edits, then says so and redraws; false if it was refused. */
async function act(edit, rerender) {
  try {
    await local.edit(...edit);
    toast(t('visit.saved'));
    rerender();
    return true;
  } catch (e) {
    toast(errorText(e), 'error');
    return false;
  }
}

const names = (set, downline) => Object.keys(set ?? {}).map((k) => downline[k]?.name ?? k).join('、');

/** Checkboxes named `name`, one per customer id of `ids`. */
const customerBoxes = (legend, name, ids, downline) => h('fieldset', { 'data-field': name }, h('legend', legend),
  ids.length ? ids.map((k) => h('label.inline', h('input', { type: 'checkbox', name, value: k }), downline[k]?.name ?? k)) : h('p.muted', t('dealer.none')));

/** A form shown by its toggle button; `onsave(formData)` returns whether the edit was made. */
function toggled(label, action, body, onsave) {
  const form = h('form.edit', { hidden: true, 'data-form': action, onsubmit: async (e) => {
    e.preventDefault();
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    if (!(await onsave(new FormData(form)))) button.disabled = false;
  } }, body, h('div.actions', h('button.primary', { type: 'submit' }, t('dealer.save')),
    h('button', { type: 'button', onclick: () => { form.hidden = true; } }, t('common.cancel'))));
  return [h('button', { type: 'button', 'data-action': action, onclick: () => { form.hidden = !form.hidden; } }, label), form];
}

function planForm(d, doc, rerender) {
  const downline = d.profile.downline;
  const starts = h('input', { name: 'starts', type: 'date', required: true });
  return toggled(t('activity.plan'), 'plan-activity', [
    h('div.row3', field(t('activity.kind'), select('kind', KINDS.map((k) => [k, t('akind.' + k)]), 'promotion')),
      field(t('activity.starts'), starts), field(t('activity.ends'), h('input', { name: 'ends', type: 'date' }))),
    field(t('activity.title'), h('input', { name: 'title', required: true, maxlength: 200 })),
    h('div.row3', field(t('activity.budget'), h('input', { name: 'budget', type: 'number', min: 0, step: '0.01' })),
      field(t('claim.currency'), h('input', { name: 'currency', value: 'TWD', pattern: '[A-Z]{3}', maxlength: 3, required: true }))),
    customerBoxes(t('activity.invited'), 'invited', Object.keys(downline), downline),
  ], (f) => {
    const s = f.get('starts');
    const budget = f.get('budget') === '' ? null : Math.round(Number(f.get('budget')) * 100);
    const activity = {
      kind: f.get('kind'), title: f.get('title').trim(), description: '', starts: s, ends: f.get('ends') || s,
      invited: Object.fromEntries(f.getAll('invited').map((k) => [k, true])),
      status: { planned: { by: session().user, at: Date.now() } },
      ...(budget == null ? {} : { budget: { minor: budget, currency: f.get('currency').toUpperCase() } }),
    };
    return act(['insert', doc, 'activities', activity, stamp()], rerender);
  });
}

/** The `held` step's form: who of the invited came, the headcount, the result, photos (kept on the device, uploaded after the sync). */
function heldForm(a, d, doc, rerender) {
  const downline = d.profile.downline;
  const taken = new Map();
  const thumbs = h('div.thumbs');
  const file = h('input', { type: 'file', name: 'photos', accept: 'image/*', capture: 'environment', multiple: true, 'aria-label': t('activity.photos'), onchange: async () => {
    for (const x of file.files) {
      try {
        const p = await photos.compress(x);
        taken.set(p.hash, p);
        thumbs.append(h('img', { src: photos.src(p), width: 72, height: 72, alt: `${t('activity.photos')} ${taken.size}` }));
      } catch (e) {
        toast(errorText(e), 'error');
      }
    }
    file.value = '';
  } });
  return toggled(t('activity.held'), 'hold-activity', [
    customerBoxes(t('activity.attended'), 'attended', Object.keys(a.invited ?? {}), downline),
    field(t('activity.attendance'), h('input', { name: 'attendance', type: 'number', min: 0, max: 100000, step: 1 })),
    field(t('activity.result'), h('textarea', { name: 'result', rows: 3, maxlength: 4000 })),
    field(t('activity.photos'), file), thumbs,
  ], async (f) => {
    for (const p of taken.values()) await photos.keep(p);
    const extra = {
      attended: Object.fromEntries(f.getAll('attended').map((k) => [k, true])),
      result: f.get('result').trim(),
      ...(f.get('attendance') === '' ? {} : { attendance: Number(f.get('attendance')) }),
      ...(taken.size ? { photos: Object.fromEntries([...taken.values()].map((p) => [p.hash, { mime: p.mime, bytes: p.bytes.length, taken_at: p.taken_at }])) } : {}),
    };
    return act(['advance', doc, 'activities', a.id, 'held', JSON.stringify(extra), stamp()], rerender);
  });
}

function activityItem(a, d, doc, rerender) {
  const downline = d.profile.downline;
  const st = a.standing.status;
  const claim = Object.values(d.claims).find((c) => c.activity === a.id);
  const pics = h('div.thumbs');
  Object.keys(a.photos ?? {}).forEach((hash, i) => {
    photos.url(hash).then((u) => { if (u) pics.append(h('img', { src: u, alt: `${t('activity.photos')} ${i + 1} · ${a.title}`, width: 72, height: 72 })); });
  });
  const cancel = async () => {
    if (await confirmStep(t('activity.confirmCancel').replace('{what}', a.title), t('activity.cancel'))) {
      act(['advance', doc, 'activities', a.id, 'cancelled', '', stamp()], rerender);
    }
  };
  const toClaim = () => act(['insert', doc, 'claims', {
    category: 'event', purpose: a.title, amount: a.budget, activity: a.id,
    status: { requested: { by: session().user, at: Date.now() } },
  }, stamp()], rerender);
  const [heldButton, held] = st === 'planned' ? heldForm(a, d, doc, rerender) : [];
  const detail = (label, text, key) => (text || text === 0 ? h('div', { 'data-test': key }, `${label}${colon()}${text}`) : null);
  return h('li', { 'data-activity': a.id, 'data-status': st },
    h('div.row-main', h('strong', a.title), h('span.badge', t('akind.' + a.kind)), statusBadge(a, 'astatus.', 'as')),
    h('div.row-sub', h('span', a.starts === a.ends ? fmtDay(a.starts) : `${fmtDay(a.starts)} – ${fmtDay(a.ends)}`), a.budget ? h('span', `${t('activity.budget')}${colon()}${fmtMoney(a.budget)}`) : null),
    detail(t('activity.invited'), names(a.invited, downline), 'invited'),
    detail(t('activity.attended'), names(a.attended, downline), 'attended'),
    detail(t('activity.attendance'), a.attendance, 'attendance'),
    detail(t('activity.result'), a.result, 'result'),
    pics,
    claim ? h('div.muted', { 'data-test': 'claim' }, `${t('activity.claim')}${colon()}${statusText(claim, 'claim.')}`) : null,
    h('div.actions',
      heldButton,
      st === 'planned' ? h('button', { type: 'button', 'data-action': 'cancel-activity', onclick: cancel }, t('activity.cancel')) : null,
      a.budget && !claim && st !== 'cancelled' ? h('button', { type: 'button', 'data-action': 'budget-claim', onclick: toClaim }, t('activity.toClaim')) : null),
    held);
}

/** The dealer page's activities card, latest first. */
export function activitySection(d, doc, rerender) {
  const items = Object.entries(d.activities).map(([id, a]) => ({ id, ...a })).sort((x, y) => y.starts.localeCompare(x.starts));
  const [planButton, form] = planForm(d, doc, rerender);
  return h('section.card', { 'data-section': 'activities' }, h('h2', t('activity.heading')),
    h('ul.plain', items.length ? items.map((a) => activityItem(a, d, doc, rerender)) : h('li.muted', t('dealer.none'))),
    planButton, form);
}
