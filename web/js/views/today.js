// Manager: the day at a glance atop the home screen — my commitments due today or overdue, claims waiting for my
// action, active dealers due a visit by their tier's frequency, and head office's answers to escalated problems I
// have not opened yet. Counts first; each list is built when opened, and every item links to its dealer.
import { t } from '../i18n.js';
import { h, fmtDay, daysAgo, DAY } from '../ui.js';
import { session } from '../session.js';
import { claimsWaiting } from './claims-news.js';

// The answers already opened on this device, per user: {problem id: the answer's time}.
const seenKey = (user) => `fieldsync.seen-answers.${user}`;
const seen = (user) => { try { return JSON.parse(localStorage.getItem(seenKey(user))) ?? {}; } catch { return {}; } };
function markSeen(user, id, at) {
  localStorage.setItem(seenKey(user), JSON.stringify({ ...seen(user), [id]: at }));
}

const link = (dealer, ...kids) => h('a', { href: `#/dealer/${dealer}` }, ...kids);

/** Active dealers not visited within `every[tier - 1]` days (the last entry serving higher tiers), the longest due first. */
function dueVisits(dealers, every, now) {
  const out = [];
  for (const d of dealers) {
    const p = d.profile;
    if (p.status !== 'active') continue;
    const last = Object.values(d.visits).reduce((m, v) => Math.max(m, v.at), -Infinity);
    const days = every[p.tier - 1] ?? every.at(-1);
    if (last >= now - days * DAY) continue;
    out.push({ d, last: Number.isFinite(last) ? last : null, late: Number.isFinite(last) ? now - last - days * DAY : Infinity });
  }
  return out.sort((a, b) => b.late - a.late);
}

/** The card over every dealer state `dealers` (the home screen's, read once for the list and the card). */
export function todayCard(dealers, now = Date.now()) {
  const me = session()?.user;
  const every = session()?.visit_every_days; // from /v1/me; a session saved before it was sent lists no due visits yet
  const looked = seen(me);
  const due = [], answers = [];
  for (const d of dealers) {
    for (const [id, c] of Object.entries(d.commitments)) {
      // The core's standing decides "overdue"; due today is its own day in the dealer's zone (the state's `today`).
      if (c.owner === me && c.standing.open && (c.standing.overdue || c.due === d.today)) due.push({ id, c, d });
    }
    for (const [id, p] of Object.entries(d.problems)) {
      const at = p.escalation?.responded?.at;
      if (at && looked[id] !== at) answers.push({ id, p, d, at });
    }
  }
  due.sort((a, b) => a.c.due.localeCompare(b.c.due));
  answers.sort((a, b) => b.at - a.at);
  const claims = claimsWaiting(dealers, me, now).filter((x) => x.st === 'approved' || x.st === 'spent');
  const visits = every?.length ? dueVisits(dealers, every, now) : [];

  const group = (key, items, item) => items.length ? h('details', { 'data-today': key, ontoggle: (e) => {
    const el = e.currentTarget;
    if (el.open && !el.querySelector('ul')) el.append(h('ul.plain', items.map(item)));
  } }, h('summary', t(`today.${key}`), ' ', h('span.badge', { 'data-count': items.length }, String(items.length)))) : null;

  const groups = [
    group('commitments', due, ({ id, c, d }) => h('li', { 'data-commitment': id },
      link(d.id, h('strong', c.what), ` · ${d.profile.name}`),
      h('div.row-sub', h('span', `${t('commitment.due')}: ${fmtDay(c.due)}`),
        c.standing.overdue ? h('span.badge.overdue', t('commitment.overdue')) : h('span.badge.warn', t('today.dueToday'))))),
    group('claims', claims, (x) => h('li', { 'data-claim': x.id },
      link(x.dealer, h('strong', x.c.purpose), ` · ${x.name}`),
      h('div.row-sub', h('span.warn', t(x.st === 'approved' ? 'claims.recordSpending' : 'claims.reconcile')),
        x.late ? h('span.badge.overdue', t('ageing.overdue')) : null))),
    group('visits', visits, ({ d, last }) => h('li', { 'data-dealer': d.id },
      link(d.id, h('strong', d.profile.name)),
      h('div.row-sub', h('span', `${t('dealer.tier')} ${d.profile.tier}`),
        h('span', `${t('dealers.lastVisit')}: ${last == null ? t('dealers.never') : `${daysAgo(last, now)} ${t('dealers.daysAgo')}`}`)))),
    group('answers', answers, ({ id, p, d, at }) => h('li', { 'data-problem': id },
      h('a', { href: `#/dealer/${d.id}`, onclick: () => markSeen(me, id, at) }, h('strong', p.title), ` · ${d.profile.name}`),
      p.response ? h('div', p.response) : null)),
  ].filter(Boolean);
  return h('section.card.today', { 'data-section': 'today' }, h('h2', t('today.title')),
    groups.length ? groups : h('p.muted', t('today.clear')));
}
