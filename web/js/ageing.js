// Reconciliation ageing: head office's days (GET /api/claim-ageing, kept here for offline use) and core's rule,
// through wasm, for whether a spent claim not reconciled is overdue. Days are UTC days, as core counts them
// (model::claim_ageing::spent_on) until territories carry their own time zone.
import { api, getJSON } from './api.js';
import { claimOverdue } from '../pkg/fieldsync_wasm.js';

const KEY = 'fieldsync.claimAgeing';
export const DEFAULT_DAYS = 14;

/** The days as last read from the server (the default before that). */
export function ageingDays() {
  const v = localStorage.getItem(KEY);
  const n = v === null ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_DAYS;
}

/** Reads the days from the server when online; true when they changed. */
export async function refreshAgeing() {
  try {
    const { days } = await getJSON('/api/claim-ageing');
    if (!Number.isInteger(days) || days === ageingDays()) return false;
    localStorage.setItem(KEY, String(days));
    return true;
  } catch {
    return false;
  }
}

/** Head office: sets the days (the server refuses anyone else). */
export async function setAgeing(days) {
  const out = JSON.parse(await api('/api/claim-ageing', { method: 'PUT', body: JSON.stringify({ days }) }));
  localStorage.setItem(KEY, String(out.days));
  return out.days;
}

/** Today's day, `YYYY-MM-DD`, as core counts it. */
export const today = (now = Date.now()) => new Date(now).toISOString().slice(0, 10);

/** Whether `claim` (a record as in the dealer's state) is overdue for reconciliation (core's rule). */
export function isOverdue(claim, now = Date.now()) {
  try {
    return claimOverdue(JSON.stringify(claim), today(now), ageingDays());
  } catch {
    return false;
  }
}
