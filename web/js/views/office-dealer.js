// Head office's dealer page: the dealer document as the server merged it — profile, visits (notes, attendees,
// photos, downline customers), notes made outside visits, commitments, claims, problems and activities (invited, who came, result, photos, claim); every table exports to CSV, and every
// record opens its audit history (views/office-history.js); and the dealer's monthly sales against target.
import { getJSON, fromServer } from '../api.js';
import { t } from '../i18n.js';
import { h, fmtTime, fmtDay, statusText } from '../ui.js';
import { who, money, managerLink, table, keys, csvButton, section } from './office-common.js';
import { pct } from './office-sales.js';

const amount = (m) => (m ? money(m.minor, m.currency) : '—');

/** A visit's or an activity's photo, from the browser's cache when it was shown before (photos are immutable). */
function photo(hash, alt) {
  const img = h('img', { alt, width: 96, height: 96, loading: 'lazy' });
  fromServer(hash).then((u) => { if (u) img.src = u; else img.alt = t('office.photoMissing'); });
  return img;
}

/** A record's history button: opens its audit history (views/office-history.js, loaded on the first click). */
const historyButton = (dealer, kind, id, label, zone) => h('button.small', {
  type: 'button', 'data-action': 'history', 'data-record': id, 'aria-label': t('history.of').replace('{label}', label),
  onclick: async () => (await import('./office-history.js')).openHistory(dealer, kind, id, label, zone),
}, t('history.open'));

/**
 * A table with its heading and CSV button; `cols` are `[header, record → text]`. With `attr.kind`, each row has
 * a history button, named by `attr.label(record)` (not exported to CSV).
 */
function block(name, title, cols, rows, attr) {
  const heads = cols.map((c) => c[0]);
  if (attr.kind) heads.push(t('history.column'));
  return h('section.block', { 'data-section': name },
    section(`${title} (${rows.length})`, csvButton(`${attr.file}-${name}`, cols, async () => rows)),
    table(heads, rows.map((r) => h('tr', { [`data-${name}`]: r.id }, cols.map((c) => h('td', String(c[1](r) ?? ''))),
      attr.kind ? h('td', historyButton(attr.dealer, attr.kind, r.id, attr.label(r), attr.zone)) : null))));
}

export async function dealerPage(id) {
  const [d, sales] = await Promise.all([getJSON(`/api/dealers/${encodeURIComponent(id)}`),
    getJSON(`/api/sales?dealer=${encodeURIComponent(id)}&per_page=100`)]);
  const p = d.profile;
  const zone = d.zone;
  const file = `dealer-${d.id}`;
  const hist = (kind, label) => ({ file, kind, label, dealer: d.id, zone });
  const customers = p.downline ?? {};
  const names = (set) => keys(set).map((c) => customers[c]?.name ?? c).join('、');
  const claimOf = (a) => {
    const c = d.claims.find((x) => x.activity === a.id);
    return c ? `${c.purpose} · ${statusText(c, 'claim.')}` : '';
  };
  const visitCols = [[t('office.when'), (v) => fmtTime(v.at, zone)], [t('office.manager'), (v) => who(v.manager)],
    [t('office.purposes'), (v) => keys(v.purposes).map((x) => t('purpose.' + x)).join('、')], [t('office.summary'), (v) => v.summary],
    [t('visit.attendees', t('office.attendees')), (v) => keys(v.attendees).join('、')], [t('dealer.downline'), (v) => keys(v.customers).map((c) => customers[c]?.name ?? c).join('、')],
    [t('office.notes'), (v) => Object.values(v.notes ?? {}).map((n) => n.text).join(' / ')], [t('office.photos'), (v) => Object.keys(v.photos ?? {}).length]];
  const visits = h('section.block', { 'data-section': 'visits' },
    section(`${t('dealer.visits')} (${d.visits.length})`, csvButton(`${file}-visits`, visitCols, async () => d.visits)),
    d.visits.length ? h('ul.timeline', d.visits.map((v) => h('li.visit', { 'data-visit': v.id },
      h('div.row-main', h('strong', fmtTime(v.at, zone)), h('span.badge', managerLink(v.manager)), keys(v.purposes).map((x) => h('span.badge', t('purpose.' + x)))),
      v.summary ? h('div', v.summary) : null,
      keys(v.attendees).length ? h('div.muted', `${t('office.attendees')}: ${keys(v.attendees).join('、')}`) : null,
      keys(v.customers).length ? h('div.muted', `${t('dealer.downline')}: ${keys(v.customers).map((c) => customers[c]?.name ?? c).join('、')}`) : null,
      Object.values(v.notes ?? {}).map((n) => h('blockquote.note', n.text, h('div.muted', `${who(n.by)} · ${fmtTime(n.at, zone)}`))),
      v.gps ? h('div.muted', `GPS ${v.gps.lat.toFixed(4)}, ${v.gps.lon.toFixed(4)} ±${Math.round(v.gps.accuracy_m)} m`) : null,
      Object.keys(v.photos ?? {}).length ? h('div.photos', Object.keys(v.photos).map((p, i) => photo(p, `${t('visit.photos')} ${i + 1} · ${fmtTime(v.at, zone)}`))) : null,
      h('div', historyButton(d.id, 'visit', v.id, `${t('history.visit')} ${fmtTime(v.at, zone)}`, zone))))) : h('p.muted', t('dealer.none')));
  return h('div.dealer-page', { 'data-dealer-page': d.id },
    h('p', h('a', { href: '#/office/dealers' }, t('office.backToDealers'))),
    h('h2', p.name, ' ', h('span.badge', t('status.' + p.status)), h('span.badge', `${t('dealer.tier')} ${p.tier}`), h('span.badge', t('kind.' + p.kind))),
    h('section.block', { 'data-section': 'profile' },
      h('dl.facts', h('dt', t('dealers.territory')), h('dd', d.territory), h('dt', t('dealer.address')), h('dd', p.address || '—'),
        h('dt', t('dealer.contacts')), h('dd', Object.values(p.contacts ?? {}).filter((c) => !c.gone).map((c) => h('div', `${c.name}（${c.role}）${c.phone ?? ''} ${c.email ?? ''}`))),
        h('dt', t('dealer.brands')), h('dd', Object.entries(p.brands ?? {}).filter(([, x]) => !x.gone).map(([b, x]) => `${b}${x.exclusive ? `（${t('office.exclusive')}）` : ''}`).join('、') || '—'),
        h('dt', t('dealer.downline')), h('dd', Object.values(customers).map((c) => h('div', c.name, c.core ? h('span.badge', t('dealer.core')) : null, c.note ? ` ${c.note}` : ''))))),
    visits,
    block('notes', t('note.title'), [[t('office.when'), (n) => fmtTime(n.at, zone)], [t('office.manager'), (n) => who(n.by)], [t('office.notes'), (n) => n.text]], d.notes ?? [], { file }),
    block('commitments', t('dealer.allCommitments'), [[t('commitment.what'), (c) => c.what], [t('commitment.toWhom'), (c) => c.to_whom], [t('commitment.owner'), (c) => who(c.owner)],
      [t('commitment.due'), (c) => fmtDay(c.due)], [t('commitment.overdue'), (c) => (c.standing?.overdue ? t('commitment.overdue') : '')], [t('dealers.status'), (c) => statusText(c, 'cstatus.')], [t('office.amount'), (c) => amount(c.amount)]], d.commitments, hist('commitment', (c) => c.what)),
    block('claims', t('dealer.claims'), [[t('claim.purpose'), (c) => c.purpose], [t('claim.category'), (c) => t('ecat.' + c.category)], [t('office.amount'), (c) => amount(c.amount)],
      [t('office.spent'), (c) => amount(c.spent)], [t('dealers.status'), (c) => statusText(c, 'claim.')],
      [t('claim.receipt'), (c) => Object.keys(c.receipts ?? {}).length || ''], [t('claim.reason'), (c) => c.reason ?? '']], d.claims, hist('claim', (c) => c.purpose)),
    block('problems', t('dealer.problems'), [[t('problem.title'), (x) => x.title], [t('problem.category'), (x) => t('pcat.' + x.category)], [t('problem.severity'), (x) => t('sev.' + x.severity)],
      [t('dealers.status'), (x) => statusText(x, 'pstatus.')], [t('office.escalated'), (x) => (x.escalated ? '✓' : '')], [t('office.resolution'), (x) => x.resolution ?? '']], d.problems, hist('problem', (x) => x.title)),
    block('activities', t('office.activities'), [[t('office.activity'), (a) => a.title], [t('office.kind'), (a) => t('akind.' + a.kind, a.kind)], [t('office.dates'), (a) => `${a.starts} – ${a.ends}`],
      [t('office.budget'), (a) => amount(a.budget)], [t('dealers.status'), (a) => statusText(a, 'astatus.')],
      [t('activity.invited'), (a) => names(a.invited)], [t('activity.attended'), (a) => names(a.attended)], [t('activity.attendance'), (a) => a.attendance ?? ''],
      [t('activity.result'), (a) => a.result ?? ''], [t('activity.claim'), (a) => claimOf(a)]], d.activities, hist('activity', (a) => a.title)),
    activityPhotos(d.activities),
    block('sales', t('office.sales'), [[t('office.month'), (s) => s.month], [t('sales.target'), (s) => money(s.target_minor, s.currency)],
      [t('sales.actual'), (s) => money(s.actual_minor, s.currency)], [t('sales.achievement'), (s) => pct(s.achievement)]],
    sales.items.map((s) => ({ ...s, id: s.month })), { file }));
}

/** The photos of the activities that have some, each group named by its activity. */
function activityPhotos(activities) {
  const withPhotos = activities.filter((a) => keys(a.photos).length);
  return withPhotos.length ? h('section.block', { 'data-section': 'activity-photos' }, h('h3', t('activity.photos')),
    withPhotos.map((a) => h('div', { 'data-activity': a.id }, h('div.muted', a.title),
      h('div.photos', keys(a.photos).map((p, i) => photo(p, `${a.title} ${i + 1}`)))))) : null;
}
