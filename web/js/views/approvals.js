// Head office and regional managers: the approvals inbox. Claims waiting for a decision in the caller's
// territories (the server's read model), each approved or rejected with a reason through an ordinary
// signed change (act.js); head office also sets the approval limits. The server decides every step
// (role, own claim, limit: core's schema); this page only says in advance which claims are beyond the
// caller's limit.
import { api, getJSON } from '../api.js';
import { t } from '../i18n.js';
import { session } from '../session.js';
import { h, fmtTime, fmtDay, toast, errorText, confirmStep } from '../ui.js';
import { who, money, dealerLink, territories } from './office-common.js';
import { decideClaim, decideCommitment } from '../act.js';

/**
 * The most `role` approves in `territory`, per currency (null: no limit): the territory's own limits for the
 * role if it has any, else the role's general ones (as core's `ApprovalLimits::ceiling`; shown, not enforced here).
 */
function ceiling(limits, role, territory) {
  const own = limits.filter((l) => l.role === role && l.territory === territory);
  const general = limits.filter((l) => l.role === role && !l.territory);
  const use = own.length ? own : general;
  return use.length ? use : null;
}

const within = (c, claim) => !c || c.some((l) => l.currency === claim.currency && claim.amount_minor <= l.max_minor);

function claimRow(c, limits, reload) {
  const me = session();
  const own = c.requested_by === me.user;
  const max = ceiling(limits, me.role, c.territory);
  const allowed = me.role === 'regional' || me.role === 'head_office';
  const above = !within(max, c);
  const busy = (on) => row.querySelectorAll('button, input').forEach((b) => { b.disabled = on; });
  const decide = async (stage, extra) => {
    busy(true);
    try {
      await decideClaim(`dealer:${c.dealer}`, c.id, stage, extra);
      toast(t(stage === 'approved' ? 'approvals.done.approved' : 'approvals.done.rejected'));
      reload();
    } catch (e) {
      toast(e.rule ? `${t('rule.' + e.rule, e.rule)}: ${e.message}` : errorText(e), 'error');
      busy(false);
    }
  };
  const reason = h('input', { name: 'reason', required: true, maxlength: 2000, placeholder: t('approvals.reason'), 'aria-label': t('approvals.reason') });
  const reject = h('form.inline-form', { 'data-action': 'reject-form', onsubmit: (e) => {
    e.preventDefault();
    const why = reason.value.trim();
    if (why) decide('rejected', { reason: why });
  } }, reason, h('button', { type: 'submit', 'data-action': 'reject' }, t('approvals.reject')));
  const row = h('li.approval', { 'data-claim': c.id, 'data-above': String(above) },
    h('div.row-main', h('strong', c.purpose), h('span.badge', t('ecat.' + c.category)), h('b', money(c.amount_minor, c.currency)),
      above ? h('span.badge.overdue', { 'data-test': 'above-limit' }, t('approvals.aboveLimit')) : null),
    h('div.row-sub', dealerLink(c.dealer, c.dealer_name), h('span', `${t('office.requestedBy')}: ${who(c.requested_by)}`), h('span', fmtTime(c.requested_at))),
    own ? h('div.muted', { 'data-test': 'own' }, t('approvals.own'))
      : allowed ? h('div.actions',
        h('button.primary', { type: 'button', 'data-action': 'approve', disabled: above, onclick: () => decide('approved') }, t('approvals.approve')),
        reject) : null);
  return row;
}

/** A commitment above its maker's authority: approve or reject (each asked first), within the caller's own limit. */
function commitmentRow(c, limits, reload) {
  const me = session();
  const own = c.made_by === me.user;
  const above = !within(ceiling(limits, me.role, c.territory), c);
  const decide = async (stage) => {
    const question = t(`approvals.commitment.${stage}`).replace('{what}', c.what);
    if (!(await confirmStep(question, t(stage === 'approved' ? 'approvals.approve' : 'approvals.reject')))) return;
    row.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      await decideCommitment(`dealer:${c.dealer}`, c.id, stage);
      toast(t(stage === 'approved' ? 'approvals.done.approved' : 'approvals.done.rejected'));
      reload();
    } catch (e) {
      toast(e.rule ? `${t('rule.' + e.rule, e.rule)}: ${e.message}` : errorText(e), 'error');
      row.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    }
  };
  const row = h('li.approval', { 'data-commitment': c.id, 'data-above': String(above) },
    h('div.row-main', h('strong', c.what), h('b', money(c.amount_minor, c.currency)),
      above ? h('span.badge.overdue', { 'data-test': 'above-limit' }, t('approvals.aboveLimit')) : null),
    h('div.row-sub', dealerLink(c.dealer, c.dealer_name), h('span', `${t('commitment.toWhom')}: ${c.to_whom || '—'}`),
      h('span', `${t('office.madeBy')}: ${who(c.made_by)}`), h('span', `${t('commitment.due')}: ${fmtDay(c.due)}`)),
    own ? h('div.muted', { 'data-test': 'own' }, t('approvals.own'))
      : h('div.actions',
        h('button.primary', { type: 'button', 'data-action': 'approve', disabled: above, onclick: () => decide('approved') }, t('approvals.approve')),
        h('button', { type: 'button', 'data-action': 'reject', onclick: () => decide('rejected') }, t('approvals.reject'))));
  return row;
}

/** Head office: the limits as set, and a form to set one role's limit (everywhere, or in one territory). */
function limitsCard(limits, reload) {
  const me = session();
  const rows = limits.map((l) => h('li', { 'data-limit': `${l.kind === 'commitment' ? 'commitment/' : ''}${l.role}/${l.territory ?? ''}/${l.currency}` },
    `${l.kind === 'commitment' ? t('approvals.authority') : t('role.' + l.role, l.role)} · ${l.territory ? (territories.find((x) => x.id === l.territory)?.name ?? l.territory) : t('approvals.everywhere')} · ≤ ${money(l.max_minor, l.currency)}`));
  if (me.role !== 'head_office' && me.role !== 'admin') {
    return h('section.card', { 'data-section': 'limits' }, h('h2', t('approvals.limits')), h('ul.plain', rows.length ? rows : h('li.muted', t('approvals.noLimits'))));
  }
  const amount = h('input', { name: 'max', type: 'number', min: 0, step: 1, required: true, 'aria-label': t('approvals.max') });
  const where = h('select', { name: 'territory', 'aria-label': t('dealers.territory') },
    h('option', { value: '' }, t('approvals.everywhere')), territories.map((x) => h('option', { value: x.id }, x.name)));
  const kind = h('select', { name: 'kind', 'aria-label': t('approvals.limits') },
    h('option', { value: 'claim' }, t('role.regional')), h('option', { value: 'commitment' }, t('approvals.authority')));
  const form = h('form.inline-form', { 'data-action': 'limit-form', onsubmit: async (e) => {
    e.preventDefault();
    const territory = where.value || undefined;
    const [k, role] = kind.value === 'commitment' ? ['commitment', 'manager'] : ['claim', 'regional'];
    const next = limits.filter((l) => !((l.kind ?? 'claim') === k && l.role === role && (l.territory ?? undefined) === territory && l.currency === 'TWD'));
    next.push({ kind: k, role, territory, currency: 'TWD', max_minor: Math.round(Number(amount.value) * 100) });
    try {
      await api('/api/approval-limits', { method: 'PUT', body: JSON.stringify({ limits: next }) });
      toast(t('approvals.limitSaved'));
      reload();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  } }, kind, h('span', '≤ TWD'), amount, where, h('button', { type: 'submit' }, t('dealer.save')));
  return h('section.card', { 'data-section': 'limits' }, h('h2', t('approvals.limits')),
    h('ul.plain', rows.length ? rows : h('li.muted', t('approvals.noLimits'))), form);
}

/** The inbox: every requested claim in the caller's territories, oldest first. */
export async function inbox(reload) {
  const [p, k, { limits }] = await Promise.all([
    getJSON('/api/claims?status=requested&per_page=200'),
    getJSON('/api/commitments?status=pending_approval&per_page=200'),
    getJSON('/api/approval-limits'),
  ]);
  const items = [...p.items].sort((a, b) => a.requested_at - b.requested_at);
  const claimLimits = limits.filter((l) => (l.kind ?? 'claim') === 'claim');
  return [
    h('section.card', { 'data-section': 'approvals' }, h('h2', `${t('approvals.title')} (${p.total})`),
      h('ul.plain.approvals', items.length ? items.map((c) => claimRow(c, claimLimits, reload)) : h('li.muted', { 'data-test': 'inbox-empty' }, t('approvals.empty')))),
    h('section.card', { 'data-section': 'commitment-approvals' }, h('h2', `${t('approvals.commitments')} (${k.total})`),
      h('ul.plain.approvals', k.items.length ? k.items.map((c) => commitmentRow(c, claimLimits, reload)) : h('li.muted', t('approvals.empty')))),
    limitsCard(limits, reload),
  ];
}
