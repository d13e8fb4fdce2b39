// Manager: one expense claim on a dealer's page. Approved: record what was actually spent, with receipt
// photos (kept on the device and uploaded after the sync, as visit photos are). Spent: reconcile it with
// the dealer. Rejected: the reason head office or the regional manager gave.
import { t } from '../i18n.js';
import * as local from '../local.js';
import * as photos from '../photos.js';
import { stamp } from '../session.js';
import { h, fmtMoney, statusBadge, confirmStep, toast, field, errorText } from '../ui.js';

async function advance(doc, c, stage, extra, rerender) {
  try {
    await local.edit('advance', doc, 'claims', c.id, stage, extra ? JSON.stringify(extra) : '', stamp());
    toast(t('visit.saved'));
    rerender();
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

/** The form for the `spent` step: the amount actually spent (the requested one to start with) and receipts. */
function spentForm(doc, c, rerender) {
  const taken = new Map();
  const thumbs = h('div.thumbs');
  const amount = h('input', { name: 'spent', type: 'number', min: 0, step: '0.01', required: true, value: String(c.amount.minor / 100), 'aria-label': `${t('claim.spentAmount')} (${c.amount.currency})` });
  const file = h('input', { type: 'file', name: 'receipt', accept: 'image/*', capture: 'environment', multiple: true, 'aria-label': t('claim.receipt'), onchange: async () => {
    for (const f of file.files) {
      try {
        const p = await photos.compress(f);
        taken.set(p.hash, p);
        thumbs.append(h('img', { src: photos.src(p), width: 72, height: 72, alt: `${t('claim.receipt')} ${taken.size}` }));
      } catch (e) {
        toast(errorText(e), 'error');
      }
    }
    file.value = '';
  } });
  const form = h('form.edit', { hidden: true, 'data-action': 'spent-form', onsubmit: async (e) => {
    e.preventDefault();
    const minor = Math.round(Number(amount.value) * 100);
    if (!Number.isFinite(minor) || minor < 0) return;
    for (const p of taken.values()) await photos.keep(p);
    const receipts = Object.fromEntries([...taken.values()].map((p) => [p.hash, { mime: p.mime, bytes: p.bytes.length, taken_at: p.taken_at }]));
    await advance(doc, c, 'spent', { spent: { minor, currency: c.amount.currency }, ...(taken.size ? { receipts } : {}) }, rerender);
  } },
    field(`${t('claim.spentAmount')} (${c.amount.currency})`, amount),
    field(t('claim.receipt'), file), thumbs,
    h('div.actions', h('button.primary', { type: 'submit', 'data-action': 'save-spent' }, t('claim.recordSpent')),
      h('button', { type: 'button', onclick: () => { form.hidden = true; } }, t('common.cancel'))));
  return form;
}

function receiptThumbs(c) {
  const pics = h('div.thumbs', { 'data-test': 'receipts' });
  Object.keys(c.receipts ?? {}).forEach((hash, i) => {
    photos.url(hash).then((u) => { if (u) pics.append(h('img', { src: u, alt: `${t('claim.receipt')} ${i + 1}`, width: 72, height: 72 })); });
  });
  return pics;
}

export function claimItem(c, doc, rerender) {
  const st = c.standing.status;
  let actions = null;
  if (st === 'approved') {
    const form = spentForm(doc, c, rerender);
    actions = [h('div.actions', h('button', { 'data-action': 'spent', onclick: () => { form.hidden = !form.hidden; } }, `→ ${t('claim.spent')}`)), form];
  } else if (st === 'spent') {
    actions = h('div.actions', h('button', { 'data-action': 'reconcile', onclick: async () => {
      // Reconciled cannot be undone: ask first.
      if (await confirmStep(t('confirm.reconciled').replace('{what}', c.purpose), t('claim.reconcile'))) advance(doc, c, 'reconciled', null, rerender);
    } }, t('claim.reconcile')));
  }
  return h('li', { 'data-claim': c.id, 'data-status': st },
    h('div.row-main', h('strong', c.purpose), h('span.badge', t('ecat.' + c.category)), statusBadge(c, 'claim.', 'cl')),
    h('div.row-sub', h('span', fmtMoney(c.amount)), c.spent ? h('span', { 'data-test': 'spent' }, `${t('claim.spent')}: ${fmtMoney(c.spent)}`) : null),
    st === 'rejected' && c.reason ? h('div.muted', { 'data-test': 'reason' }, `${t('claim.reason')}: ${c.reason}`) : null,
    Object.keys(c.receipts ?? {}).length ? receiptThumbs(c) : null,
    actions);
}
