// A commitment above its maker's authority on the phone: head office's commitment authority (GET /api/approval-limits,
// kept for offline use) and core's rule (`model::commitment::pending`, through wasm) for whether an open commitment
// is pending approval. The server decides, and refuses kept or broken before a supervisor approves.
import { getJSON } from '../api.js';
import { extend } from '../i18n.js';
import { commitmentPending } from '../../pkg/fieldsync_wasm.js';

extend('zh-Hant', { 'commitment.pending': '待主管核准', 'cstatus.approved': '已核准', 'cstatus.rejected': '已駁回' });
extend('en', { 'commitment.pending': 'pending approval', 'cstatus.approved': 'Approved', 'cstatus.rejected': 'Rejected' });

const KEY = 'fieldsync.authority';

/** Reads the authority when online (as core's `ApprovalLimits`); true when it changed. */
export async function refresh() {
  try {
    const v = JSON.stringify((await getJSON('/api/approval-limits')).limits.filter((l) => l.kind === 'commitment')
      .map((l) => ({ kind: l.kind, role: l.role, ...(l.territory ? { territory: l.territory } : {}), max: { minor: l.max_minor, currency: l.currency } })));
    return v !== (localStorage.getItem(KEY) ?? '[]') && !localStorage.setItem(KEY, v);
  } catch {
    return false;
  }
}

/** Whether commitment `c` (with its standing) of a dealer in `territory` is pending approval, by core's rule. */
export function pending(c, territory) {
  try {
    return commitmentPending(c.standing.status, JSON.stringify(c.amount ?? null), localStorage.getItem(KEY) ?? '[]', territory);
  } catch {
    return false; // limits stored by an older version: read again at the next refresh
  }
}
