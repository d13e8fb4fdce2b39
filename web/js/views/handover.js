// The incoming manager's handover checklist (交接清單, #/handover): the open items of the territory's outgoing
// manager as the server listed them (GET /api/handovers, kept on the phone for offline use), each in the state
// of its record on the device, else the server's: Pending, then Flagged, then Accepted. Accepting (asked first)
// or flagging (with a reason) is a signed change on the record by core (`review`; accepting makes the record
// mine); the server decides. Online: "done" (the outgoing manager's late edits held for review are on head office's tab).
import { t, extend } from '../i18n.js';
import { api, getJSON } from '../api.js';
import * as local from '../local.js';
import { session, stamp } from '../session.js';
import { h, fill, fmtTime, confirmStep, ask, toast, errorText, colon } from '../ui.js';

extend('zh-Hant', {
  'handover.title': '交接清單', 'handover.pending': '待接手', 'handover.flagged': '已標記', 'handover.accepted': '已接手',
  'handover.from': '交接自', 'handover.deadline': '期限', 'handover.accept': '接手', 'handover.flag': '標記問題', 'handover.reason': '問題說明',
  'handover.acceptQ': '接手「{what}」嗎？接手後由你負責，無法復原。', 'handover.flagQ': '「{what}」有什麼問題？',
  'handover.done': '完成交接', 'handover.doneQ': '完成交接嗎？前任經理將看不到這個區域。', 'handover.completed': '交接已完成',
  'handover.empty': '沒有要交接的項目。', 'handover.late': '交接後才同步',
  'hkind.commitment': '承諾', 'hkind.claim': '費用申報', 'hkind.problem': '問題', 'error.handover_pending': '還有待接手的項目',
});
extend('en', {
  'handover.title': 'Handover', 'handover.pending': 'To take over', 'handover.flagged': 'Flagged', 'handover.accepted': 'Taken over',
  'handover.from': 'From', 'handover.deadline': 'Deadline', 'handover.accept': 'Take over', 'handover.flag': 'Flag', 'handover.reason': 'What is wrong',
  'handover.acceptQ': 'Take over “{what}” for good? It becomes yours.', 'handover.flagQ': 'What is wrong with “{what}”?',
  'handover.done': 'Complete', 'handover.doneQ': 'Complete the handover? The previous manager loses the territory.',
  'handover.completed': 'Handover completed', 'handover.empty': 'Nothing to take over.', 'handover.late': 'synced late',
  'hkind.commitment': 'Commitment', 'hkind.claim': 'Expense claim', 'hkind.problem': 'Problem', 'error.handover_pending': 'Some items are not taken over yet',
});

const KEY = 'fieldsync.handovers';
const STATES = ['pending', 'flagged', 'accepted'];
const COLL = { commitment: 'commitments', claim: 'claims', problem: 'problems' };
let last = 0, busy = null;

/** The open handovers to me, as last read from the server. */
export const cached = () => JSON.parse(localStorage.getItem(KEY) ?? '[]').filter((x) => x.to === session()?.user);

/** Reads them from the server when online (at most every 20 s unless `force`; a busy server is asked again
 * shortly, a failure next time); resolves true when they changed. */
export function refresh(force) {
  if (busy) return busy;
  if (!force && Date.now() - last < 20_000) return Promise.resolve(false);
  last = Date.now();
  const get = (n) => getJSON('/api/handovers?status=open').catch((e) => (n && e.status >= 429
    ? new Promise((ok) => setTimeout(ok, 1500)).then(() => get(n - 1)) : Promise.reject(e)));
  return (busy = get(4).then((r) => {
    const text = JSON.stringify(r.handovers.filter((x) => x.to === session()?.user));
    if (text === localStorage.getItem(KEY)) return false;
    localStorage.setItem(KEY, text);
    return true;
  }, () => { last = 0; return false; }).finally(() => { busy = null; }));
}

/** Each item with its state (`st`) and reason: the record's review on the device, unless the server knows a later one. */
function items(ho, docs) {
  return ho.items.map((x) => {
    const mine = docs.get(x.dealer)?.[COLL[x.kind]]?.[x.id]?.handover?.[ho.id];
    const rv = mine?.review ?? {};
    const st = STATES[Math.max(STATES.indexOf(x.state), rv.accepted ? 2 : rv.flagged ? 1 : 0)];
    return { ...x, st, reason: mine?.reason ?? x.reason };
  }).sort((a, b) => a.since - b.since);
}

const byId = (dealers) => new Map(dealers.map((d) => [d.id, d]));

/** The home screen's link to the checklist (in `slot`), with the number of items to take over (their dealers loaded first). */
export function badge(slot) {
  const draw = async () => {
    const list = cached();
    if (!list.length) return fill(slot, null); // no handover: no document to read
    await local.ensure(list.flatMap((ho) => ho.items.map((x) => `dealer:${x.dealer}`)));
    const docs = byId(local.dealers());
    const n = list.flatMap((ho) => items(ho, docs)).filter((x) => x.st === 'pending').length;
    fill(slot, h('a.button', { href: '#/handover', 'data-action': 'handover', 'data-pending': n }, `${t('handover.title')} (${n})`));
  };
  draw();
  refresh().then((c) => c && draw());
}

async function run(f, rerender) {
  try {
    await f();
    rerender();
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

function row(x, hid, rerender) {
  const go = (stage, reason) => run(() => local.edit('review', `dealer:${x.dealer}`, COLL[x.kind], x.id, hid, stage, reason, stamp()), rerender);
  const q = (k) => t(k).replace('{what}', x.title);
  return h('li', { 'data-item': x.id, 'data-state': x.st },
    h('div.row-main', h('strong', x.title), h('span.badge', t('hkind.' + x.kind)), x.late ? h('span.badge.warn', t('handover.late')) : null),
    h('div.row-sub', h('a', { href: `#/dealer/${x.dealer}` }, x.dealer_name ?? x.dealer), h('span', fmtTime(x.since))),
    x.reason ? h('div.muted', { 'data-test': 'reason' }, `${t('handover.reason')}${colon()}${x.reason}`) : null,
    x.st === 'accepted' ? null : h('div.actions',
      h('button.primary', { 'data-action': 'accept', onclick: async () => { if (await confirmStep(q('handover.acceptQ'), t('handover.accept'))) go('accepted', ''); } }, t('handover.accept')),
      x.st === 'pending' ? h('button', { 'data-action': 'flag', onclick: async () => {
        const a = await ask(q('handover.flagQ'), [['flag', t('handover.flag')], ['cancel', t('common.cancel')]], { label: t('handover.reason'), required: true });
        if (a.choice === 'flag' && a.text) go('flagged', a.text);
      } }, t('handover.flag')) : null));
}

function card(ho, docs, rerender) {
  const all = items(ho, docs);
  const of = (s) => all.filter((x) => x.st === s);
  return h('section.card', { 'data-handover': ho.id },
    h('p.muted', `${t('handover.from')}${colon()}${ho.from_name ?? ho.from} · ${t('handover.deadline')}${colon()}${fmtTime(ho.deadline)}`),
    STATES.map((s) => [h('h2', `${t('handover.' + s)} (${of(s).length})`), h('ul.plain', { 'data-group': s }, of(s).map((x) => row(x, ho.id, rerender)))]),
    h('button.primary', { 'data-action': 'complete', disabled: of('pending').length > 0, onclick: async () => {
      if (!(await confirmStep(t('handover.doneQ'), t('handover.done')))) return;
      run(async () => {
        await (await import('../sync.js')).syncNow(); // my reviews first: the server counts them
        await api(`/api/handovers/${ho.id}/complete`, { method: 'POST' });
        await refresh(true);
        toast(t('handover.completed'));
      }, rerender);
    } }, t('handover.done')));
}

export function handoverView(rerender) {
  refresh().then((c) => c && rerender());
  const docs = byId(local.dealers());
  const list = cached();
  return h('section', { 'data-section': 'handover' }, h('a.back', { href: '#/dealers' }, t('dealer.back')), h('h1', t('handover.title')),
    list.length ? list.map((ho) => card(ho, docs, rerender)) : h('p.muted', t('handover.empty')));
}
