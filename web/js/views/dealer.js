// Manager: one dealer's page — profile, downline customers, visits, commitments, claims, problems, conflicts.
import { t } from '../i18n.js';
import * as local from '../local.js';
import * as photos from '../photos.js';
import { stamp } from '../session.js';
import { h, fmtTime, fmtDay, fmtMoney, statusBadge, confirmStep, ask, toast, errorText, fieldName, conflictValue } from '../ui.js';
import { profileCard, downlineCard } from './profile.js';
import { claimItem } from './claim.js';
import { recordCard } from './record.js';
import { notesSection } from './notes.js';
import { activitySection } from './activity.js';

// views/pending.js, loaded with the first dealer page (precached, so offline too); until then no commitment shows as pending.
let pend = null;

/** Runs one of local's named edits (`[op, doc, ...args]`), then says so and redraws. */
async function act(edit, rerender) {
  try {
    await local.edit(...edit);
    toast(t('visit.saved'));
    rerender();
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

function section(title, testid, ...body) {
  return h('section.card', { 'data-section': testid }, h('h2', title), ...body);
}

/** One visit; `downline`: the dealer's customers, to name those seen on it (a joint visit). */
function visitItem(v, zone, downline) {
  const gps = v.gps ? `${v.gps.lat.toFixed(5)}, ${v.gps.lon.toFixed(5)} ±${Math.round(v.gps.accuracy_m)} m${v.gps.manual ? ` (${t('visit.manual')})` : ''}` : null;
  const pics = h('div.thumbs');
  Object.keys(v.photos).forEach((hash, i) => {
    photos.url(hash).then((u) => { if (u) pics.append(h('img', { src: u, alt: `${t('visit.photos')} ${i + 1} · ${fmtTime(v.at, zone)}`, width: 72, height: 72 })); });
  });
  return h('li.visit', { 'data-visit': v.id },
    h('div.row-main', h('strong', fmtTime(v.at, zone)), Object.keys(v.purposes).map((p) => h('span.badge', t('purpose.' + p)))),
    v.summary ? h('div', v.summary) : null,
    Object.values(v.notes).map((n) => h('div.note', n.text)),
    Object.keys(v.attendees).length ? h('div.muted', `${t('visit.attendeesShort')}: `, Object.keys(v.attendees).join('、')) : null,
    Object.keys(v.customers).length ? h('div.muted', { 'data-test': 'customers' }, `${t('jv.seen')}: `, Object.keys(v.customers).map((c) => downline[c]?.name ?? c).join('、')) : null,
    gps ? h('div.muted', 'GPS: ', gps) : null,
    pics);
}

/** Asks first when `stage` cannot be undone (`question`: what is about to happen). */
const final = (question, label) => confirmStep(question, label);

function commitmentItem(c, doc, territory, rerender) {
  const pending = pend?.pending?.(c, territory);
  const { open } = c.standing;
  const overdue = c.standing.overdue && !pending;
  const adv = async (stage) => {
    if (!(await final(t(`confirm.${stage}`, '').replace('{what}', c.what), t('commitment.' + stage)))) return;
    act(['advance', doc, 'commitments', c.id, stage, '', stamp()], rerender);
  };
  return h('li', { 'data-commitment': c.id },
    h('div.row-main', h('strong', c.what), statusBadge(c, 'cstatus.', 'cs'), overdue ? h('span.badge.overdue', { 'data-test': 'overdue' }, t('commitment.overdue')) : null,
      pending ? h('span.badge.warn', { 'data-test': 'pending-approval' }, t('commitment.pending')) : null),
    h('div.row-sub', h('span', `${t('commitment.toWhom')}: ${c.to_whom || '—'}`), h('span', `${t('commitment.due')}: ${fmtDay(c.due)}`), c.amount ? h('span', fmtMoney(c.amount)) : null),
    open && !pending ? h('div.actions', h('button', { onclick: () => adv('kept') }, t('commitment.kept')), h('button', { onclick: () => adv('broken') }, t('commitment.broken'))) : null);
}

/** Where the problem's escalation to head office stands, and head office's answer. */
function escalationInfo(p) {
  const e = p.escalation;
  if (!e) return null;
  const answered = e.responded;
  return h('div.escalation', { 'data-escalation': answered ? 'responded' : 'escalated' },
    h('span.badge.warn', answered ? t('escalation.responded') : t('escalation.waiting')), h('span.muted', ` ${fmtTime((answered ?? e.escalated).at)}`),
    p.response ? h('div', { 'data-test': 'response' }, `${t('escalation.response')}: ${p.response}`) : null,
    p.assigned_to ? h('div.muted', `${t('escalation.assignedTo')}: ${p.assigned_to}`) : null);
}

function problemItem(p, doc, rerender) {
  const st = p.standing.status;
  const adv = async (stage) => {
    let extra = '';
    if (stage === 'resolved') {
      const a = await ask(t('confirm.resolved').replace('{what}', p.title), [['confirm', t('problem.resolve')], ['cancel', t('common.cancel')]],
        { label: t('problem.resolution'), required: true });
      if (a.choice !== 'confirm' || !a.text) return;
      extra = JSON.stringify({ resolution: a.text });
    }
    act(['advance', doc, 'problems', p.id, stage, extra, stamp()], rerender);
  };
  return h('li', { 'data-problem': p.id },
    h('div.row-main', h('strong', p.title), h('span.badge', t('pcat.' + p.category)), h(`span.badge.sev-${p.severity}`, t('sev.' + p.severity)), statusBadge(p, 'pstatus.', 'ps')),
    p.description ? h('div', p.description) : null,
    p.resolution ? h('div.muted', `✔ ${p.resolution}`) : null,
    escalationInfo(p),
    p.standing.open ? h('div.actions',
      st === 'open' ? h('button', { onclick: () => adv('in_progress') }, t('problem.start')) : null,
      h('button', { onclick: () => adv('resolved') }, t('problem.resolve')),
      p.escalation ? null : h('button', { 'data-action': 'escalate', onclick: () => act(['escalate', doc, p.id, stamp()], rerender) }, t('escalation.escalate'))) : null);
}

/** Monthly sales (on the server, not on the device): shown on request, online, by views/sales-entry.js (not precached). */
function salesCard(id) {
  const box = section(t('msales.title'), 'sales');
  const show = () => import('./sales-entry.js').then((m) => m.fillSales(box, id)).catch((e) => {
    box.replaceChildren(box.firstChild, h('p.error', errorText(e)), h('button', { type: 'button', 'data-action': 'show-sales', onclick: show }, t('sync.retry')));
  });
  box.append(h('p.muted', t('msales.online')), h('button', { type: 'button', 'data-action': 'show-sales', onclick: (e) => {
    if (!navigator.onLine) { toast(t('msales.offline'), 'error'); return; }
    e.currentTarget.disabled = true;
    show();
  } }, t('msales.show')));
  return box;
}

const list = (items) => h('ul.plain', items.length ? items : h('li.muted', t('dealer.none')));
const withIds = (m) => Object.entries(m).map(([id, r]) => ({ id, ...r }));

export function dealerView({ id }, rerender) {
  // Drawn again only if a commitment shows as pending (so a form being filled is not redrawn for nothing).
  pend ??= import('./pending.js').then(async (m) => {
    pend = m;
    await m.refresh();
    if (local.dealers().some((x) => Object.values(x.commitments).some((c) => m.pending(c, x.territory)))) rerender();
  }, () => {});
  const doc = `dealer:${id}`;
  let d;
  try { d = local.state(doc); } catch { return h('section', h('p', t('dealer.notFound')), h('a', { href: '#/dealers' }, t('dealer.back'))); }
  const visits = withIds(d.visits).sort((a, b) => b.at - a.at);
  const commitments = withIds(d.commitments).sort((a, b) => a.due.localeCompare(b.due));
  // Open, and any whose kept/broken was taken concurrently on two devices (shown as such until someone looks).
  const open = commitments.filter((c) => c.standing.open || c.standing.also?.length);
  const conflicts = local.conflicts(doc);
  return h('section.dealer',
    h('a.back', { href: '#/dealers' }, t('dealer.back')),
    h('div.head', h('h1', d.profile.name), h('a.button.primary', { href: `#/dealer/${id}/visit`, 'data-action': 'record-visit' }, t('dealer.recordVisit'))),
    h('div.grid',
      profileCard(d, doc, rerender),
      downlineCard(d, doc, rerender),
      section(t('dealer.commitments'), 'commitments', h('ul.plain', open.length ? open.map((c) => commitmentItem(c, doc, d.territory, rerender)) : h('li.muted', t('dealer.none')))),
      section(t('dealer.problems'), 'problems', list(withIds(d.problems).map((p) => problemItem(p, doc, rerender)))),
      recordCard(doc, rerender),
      section(t('dealer.claims'), 'claims', list(withIds(d.claims).map((c) => claimItem(c, doc, rerender)))),
      activitySection(d, doc, rerender),
      notesSection(d, doc, rerender),
      salesCard(id),
      section(t('dealer.visits'), 'visits', h('ul.plain', visits.length ? visits.map((v) => visitItem(v, d.zone, d.profile.downline)) : h('li.muted', t('visit.none')))),
      conflicts.length ? section(t('dealer.conflicts'), 'conflicts', h('ul.plain', conflicts.map((c) => h('li',
        h('strong', fieldName(c.path)), ': ',
        [c.winner, ...c.others].map((v) => h('div.cval', `${conflictValue(c, v)} — ${v.by ?? '?'}`)))))) : null));
}
