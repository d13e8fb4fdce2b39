// A commitment above its maker's authority on the phone: head office's commitment authority (GET /api/approval-limits,
// kept for offline use) and whether an open commitment is above it, so pending approval (core's
// `model::commitment::pending`; the server decides, and refuses kept or broken before a supervisor approves).
// Loaded when a dealer page opens online (not precached: a manager's first visit stays small).
import { getJSON } from '../api.js';
import { extend } from '../i18n.js';

extend('zh-Hant', { 'commitment.pending': '待主管核准', 'cstatus.approved': '已核准', 'cstatus.rejected': '已駁回' });
extend('en', { 'commitment.pending': 'pending approval', 'cstatus.approved': 'Approved', 'cstatus.rejected': 'Rejected' });

const KEY = 'fieldsync.authority';

/** Reads the authority when online; true when it changed. */
export async function refresh() {
  try {
    const v = JSON.stringify((await getJSON('/api/approval-limits')).limits.filter((l) => l.kind === 'commitment'));
    return v !== (localStorage.getItem(KEY) ?? '[]') && !localStorage.setItem(KEY, v);
  } catch {
    return false;
  }
}

/** Whether open commitment `c` (with its standing) of a dealer in `territory` is above the authority there. */
export function pending(c, territory) {
  const all = JSON.parse(localStorage.getItem(KEY) || '[]');
  const own = all.filter((l) => l.territory === territory);
  const use = own.length ? own : all.filter((l) => !l.territory);
  return c.standing.status === 'open' && !!c.amount && use.length > 0
    && !use.some((l) => l.currency === c.amount.currency && c.amount.minor <= l.max_minor);
}
