// Head office and regional managers act on a document the way every device edits: core makes a signed
// Automerge change in a replica, and the change is synced. Their browser holds no replica of every
// territory: for each decision it asks where the feeds stand (GET /v1/cursor), fetches the one document
// (GET /v1/docs/{id}/automerge), lets core make the edit (the schema checked on the device, then by the
// server with the user's role and approval limit), and pushes it with an ordinary sync request. The
// decision counts only once the server accepted it; a refusal or a network failure throws, and nothing
// is kept (the page says so and the person can act again). Managers' phones receive it at their next sync.
import init, { Replica } from '../pkg/fieldsync_wasm.js';
import { api, getJSON } from './api.js';
import { session, stamp } from './session.js';

let ready = null;

/** Fetches document `docId`, runs `edit(replica, by)` on it (by: the stamp), pushes the change; throws if refused. */
export async function act(docId, edit) {
  ready ??= init();
  await ready;
  // The cursor first: what changes between the two reads is read again, never skipped.
  const { cursor } = await getJSON('/v1/cursor');
  const blob = await api(`/v1/docs/${encodeURIComponent(docId)}/automerge`, { blob: 1 });
  const r = new Replica();
  try {
    const device = session()?.device;
    if (device) r.setDevice(device);
    r.adopt(new Uint8Array(await blob.arrayBuffer()), cursor);
    edit(r, stamp());
    const resp = JSON.parse(await api('/v1/sync', { method: 'POST', body: r.syncRequest() }));
    const refused = resp.rejected?.find((x) => x.doc === docId);
    if (refused) throw Object.assign(new Error(refused.message), { code: refused.code, rule: refused.rule });
    if (!resp.accepted?.some((x) => x.doc === docId)) throw Object.assign(new Error('not accepted'), { code: 'http' });
  } finally {
    r.free();
  }
}

/** Keeps `value` (one of its values, the current one included) for conflict `id` of document `doc`. */
export const resolveConflict = (doc, id, value) =>
  act(doc, (r, by) => r.resolve(doc, id, JSON.stringify(value), by));

/** Takes `stage` on claim `id` of dealer document `doc`; `extra` goes with it (a rejection's reason). */
export const decideClaim = (doc, id, stage, extra) =>
  act(doc, (r, by) => r.advance(doc, 'claims', id, stage, extra ? JSON.stringify(extra) : '', by));

/** Takes `stage` (approved, rejected) on commitment `id` of dealer document `doc`. */
export const decideCommitment = (doc, id, stage) =>
  act(doc, (r, by) => r.advance(doc, 'commitments', id, stage, '', by));
