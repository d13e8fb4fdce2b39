// Head office: the escalation queue — problems managers escalated and nobody resolved yet, by age (under a week,
// a month, a quarter, older), each with head office's answer or a form to give one and, optionally, assign the
// problem to someone. The answer is an ordinary signed change made by core (act.js), decided by the server
// (only head office or a regional manager answers, never the one who escalated), and reaches the phone by sync.
import { getJSON } from '../api.js';
import { t } from '../i18n.js';
import { session } from '../session.js';
import { h, fmtTime, toast, errorText } from '../ui.js';
import { who, dealerLink } from './office-common.js';
import { act } from '../act.js';

const BUCKETS = ['week', 'month', 'quarter', 'older'];

/** The answer form for one escalated problem. */
function answerForm(p, reload) {
  const text = h('textarea', { name: 'response', rows: 2, required: true, 'aria-label': t('escalation.response') });
  const to = h('input', { name: 'assign', 'aria-label': t('escalation.assignTo'), placeholder: t('escalation.assignTo'), style: 'max-width:18em' });
  const doc = `dealer:${p.dealer}`;
  return h('form.inline-form', { 'data-action': 'respond', onsubmit: async (e) => {
    e.preventDefault();
    const button = e.target.querySelector('button');
    button.disabled = true;
    try {
      await act(doc, (r, by) => r.respond(doc, p.id, text.value.trim(), to.value.trim() || undefined, by));
      toast(t('escalation.sent'));
      reload();
    } catch (err) {
      button.disabled = false;
      toast(err.rule ? t('rule.' + err.rule, err.message) : errorText(err), 'error');
    }
  } }, text, to, h('button', { type: 'submit', style: 'white-space:nowrap' }, t('escalation.send')));
}

function item(p, reload) {
  const me = session();
  const mayAnswer = (me?.role === 'head_office' || me?.role === 'regional') && p.escalated_by !== me?.user;
  return h('li', { 'data-problem': p.id, 'data-answered': p.responded_at ? 'true' : 'false' },
    h('div.row-main', h('strong', p.title), h(`span.badge.sev-${p.severity}`, t('sev.' + p.severity)), h('span.badge', `${p.age_days} ${t('office.days')}`)),
    h('div.muted', dealerLink(p.dealer, p.dealer_name), ` · ${t('escalation.by')} ${who(p.escalated_by)} · ${fmtTime(p.escalated_at)}`),
    p.responded_at
      ? h('div', { 'data-test': 'response' }, `${t('escalation.response')}: ${p.response ?? ''}`,
        h('div.muted', `${who(p.responded_by)} · ${fmtTime(p.responded_at)}${p.assigned_to ? ` · ${t('escalation.assignedTo')}: ${who(p.assigned_to)}` : ''}`))
      : mayAnswer ? answerForm(p, reload) : h('div.muted', t('escalation.waiting')));
}

/** The queue, oldest first, with its age buckets. */
export async function queue(reload) {
  const p = await getJSON('/api/problems?escalated=true&per_page=200');
  const ages = p.totals?.open_by_age ?? [];
  return h('section.card', { 'data-section': 'escalations' }, h('h2', `${t('escalation.title')} (${p.total})`),
    h('div.tiles', ages.map((b, i) => h('div.tile', { 'data-age': BUCKETS[i] }, h('b', String(b.n)), h('span', t('escalation.age.' + BUCKETS[i]))))),
    h('ul.plain.escalations', p.items.length ? p.items.map((x) => item(x, reload)) : h('li.muted', t('escalation.empty'))));
}
