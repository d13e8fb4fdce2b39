// Head office and regional managers: the approvals inbox. Claims waiting for a decision in the caller's
// territories (the server's read model), each approved or rejected with a reason through an ordinary
// signed change (act.js); head office also sets the approval limits. The server decides every step
// (role, own claim, limit: core's schema); this page only says in advance which claims are beyond the
// caller's limit.
import { api, getJSON } from '../api.js';
import { t } from '../i18n.js';
import { session } from '../session.js';
import { h, fmtTime, toast, errorText } from '../ui.js';
import { who, money, dealerLink, territories } from './office-common.js';
import { decideClaim } from '../act.js';

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

/** Head office: the limits as set, and a form to set one role's limit (everywhere, or in one territory). */
function limitsCard(limits, reload) {
  const me = session();
  const rows = limits.map((l) => h('li', { 'data-limit': `${l.role}/${l.territory ?? ''}/${l.currency}` },
    `${t('role.' + l.role, l.role)} · ${l.territory ? (territories.find((x) => x.id === l.territory)?.name ?? l.territory) : t('approvals.everywhere')} · ≤ ${money(l.max_minor, l.currency)}`));
  if (me.role !== 'head_office' && me.role !== 'admin') {
    return h('section.card', { 'data-section': 'limits' }, h('h2', t('approvals.limits')), h('ul.plain', rows.length ? rows : h('li.muted', t('approvals.noLimits'))));
  }
  const amount = h('input', { name: 'max', type: 'number', min: 0, step: 1, required: true, 'aria-label': t('approvals.max') });
  const where = h('select', { name: 'territory', 'aria-label': t('dealers.territory') },
    h('option', { value: '' }, t('approvals.everywhere')), territories.map((x) => h('option', { value: x.id }, x.name)));
  const form = h('form.inline-form', { 'data-action': 'limit-form', onsubmit: async (e) => {
    e.preventDefault();
    const territory = where.value || undefined;
    const next = limits.filter((l) => !(l.role === 'regional' && (l.territory ?? undefined) === territory && l.currency === 'TWD'));
    next.push({ role: 'regional', territory, currency: 'TWD', max_minor: Math.round(Number(amount.value) * 100) });
    try {
      await api('/api/approval-limits', { method: 'PUT', body: JSON.stringify({ limits: next }) });
      toast(t('approvals.limitSaved'));
      reload();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  } }, h('span', `${t('role.regional')} ≤ TWD`), amount, where, h('button', { type: 'submit' }, t('dealer.save')));
  return h('section.card', { 'data-section': 'limits' }, h('h2', t('approvals.limits')),
    h('ul.plain', rows.length ? rows : h('li.muted', t('approvals.noLimits'))), form);
}

/** The inbox: every requested claim in the caller's territories, oldest first. */
export async function inbox(reload) {
  const [p, { limits }] = await Promise.all([
    getJSON('/api/claims?status=requested&per_page=200'),
    getJSON('/api/approval-limits'),
  ]);
  const items = [...p.items].sort((a, b) => a.requested_at - b.requested_at);
  return [
    h('section.card', { 'data-section': 'approvals' }, h('h2', `${t('approvals.title')} (${p.total})`),
      h('ul.plain.approvals', items.length ? items.map((c) => claimRow(c, limits, reload)) : h('li.muted', { 'data-test': 'inbox-empty' }, t('approvals.empty')))),
    limitsCard(limits, reload),
  ];
}
