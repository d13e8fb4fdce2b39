// Manager: on the home screen, the claims someone else decided on that wait for the manager: approved (record
// what was spent), spent (reconcile with the dealer), and rejections of the last 30 days with their reason.
// The manager's claims are those they hold: requested by them, or taken over in a territory handover (`owner`).
// It comes with the sync like every other change: the approver's step is in the dealer's document.
import { t } from '../i18n.js';
import { h, fmtTime, fmtMoney, statusBadge, DAY } from '../ui.js';
import { isOverdue, refreshAgeing } from '../ageing.js';

const RECENT = 30 * DAY;
let asked = false;

/** The claims `user` holds over every dealer state `dealers` that someone else decided on and that wait for them
 * (and rejections of the last 30 days): overdue for reconciliation first, then the newest decisions. */
export function claimsWaiting(dealers, user, now = Date.now()) {
  if (!asked) {
    asked = true;
    refreshAgeing();
  }
  const items = [];
  for (const d of dealers) {
    for (const [id, c] of Object.entries(d.claims ?? {})) {
      if ((c.owner ?? c.status?.requested?.by) !== user) continue; // its holder: taken over in a handover, else who asked
      const st = c.standing.status;
      const decided = c.status.approved ?? c.status.rejected;
      if (!decided || decided.by === user) continue;
      if (st === 'reconciled' || (st === 'rejected' && now - decided.at > RECENT)) continue;
      items.push({ id, dealer: d.id, name: d.profile?.name ?? d.id, c, st, at: decided.at, late: st === 'spent' && isOverdue(c, now) });
    }
  }
  return items.sort((a, b) => (b.late - a.late) || (b.at - a.at));
}

/** The card for `user` over every dealer state `dealers`; null when nothing waits. */
export function claimsCard(dealers, user, now = Date.now()) {
  const items = claimsWaiting(dealers, user, now);
  if (!items.length) return null;
  const late = items.filter((x) => x.late).length;
  return h('section.card', { 'data-section': 'my-claims' }, h('h2', t('claims.news')),
    late ? h('p.warn', { 'data-overdue': late }, `${t('ageing.overdueCount')}: ${late}`) : null,
    h('ul.plain', items.slice(0, 20).map((x) => h('li', { 'data-claim': x.id, 'data-status': x.st, 'data-overdue': x.late ? 'true' : null },
      h('a', { href: `#/dealer/${x.dealer}` }, h('strong', x.c.purpose), ` · ${x.name}`),
      h('div.row-sub', statusBadge(x.c, 'claim.', 'cl'), h('span', fmtMoney(x.c.amount)), h('span.muted', fmtTime(x.at)),
        x.st === 'approved' ? h('span.warn', t('claims.recordSpending')) : x.st === 'spent' ? h('span.warn', t('claims.reconcile')) : null,
        x.late ? h('span.badge.overdue', t('ageing.overdue')) : null),
      x.st === 'rejected' && x.c.reason ? h('div.muted', `${t('claim.reason')}: ${x.c.reason}`) : null))));
}
