// A manager's commitments across every dealer (渠道經理的承諾清單): the open ones they own, overdue first, then by due
// day; each links to its dealer. From the replica on the device, as the dealer pages. Loaded from the home screen
// (precached, so it opens offline).
import { t, extend } from '../i18n.js';
import * as local from '../local.js';
import { session } from '../session.js';
import { h, fmtDay, fmtMoney } from '../ui.js';

extend('zh-Hant', { 'mine.empty': '目前沒有待兌現的承諾。' });
extend('en', { 'mine.empty': 'No open commitment.' });

export async function mineView() {
  let pend = null;
  try { pend = await import('./pending.js'); } catch { /* not on this device yet: no badge */ }
  const me = session()?.user;
  const items = local.summaries().flatMap((d) => Object.entries(d.commitments ?? {})
    .filter(([, c]) => c.owner === me && c.standing.open)
    .map(([id, c]) => ({ ...c, id, dealer: d.id, name: d.profile.name, pending: !!pend?.pending(c, d.territory) })));
  const late = (c) => c.standing.overdue && !c.pending;
  items.sort((a, b) => late(b) - late(a) || a.due.localeCompare(b.due));
  return h('section', { 'data-section': 'my-commitments' }, h('a.back', { href: '#/dealers' }, t('dealer.back')), h('h1', t('mine.title')),
    h('ul.plain', items.length ? items.map((c) => h('li', { 'data-commitment': c.id, 'data-overdue': String(late(c)) },
      h('div.row-main', h('a', { href: `#/dealer/${c.dealer}` }, h('strong', c.what)),
        late(c) ? h('span.badge.overdue', t('commitment.overdue')) : null,
        c.pending ? h('span.badge.warn', { 'data-test': 'pending-approval' }, t('commitment.pending')) : null),
      h('div.row-sub', h('span', c.name), h('span', `${t('commitment.due')}: ${fmtDay(c.due)}`), c.amount ? h('span', fmtMoney(c.amount)) : null)))
      : h('li.muted', t('mine.empty'))));
}
