// Syncing the replica with the server: when the network returns, after each edit,
// when the live channel says so, and on retry after a failure (when a busy server says, else
// with exponential backoff); then the photos.
import { api } from './api.js';
import * as local from './local.js';
import * as photos from './photos.js';
import { session } from './session.js';

const LAST = 'fieldsync.lastSynced';
export const status = {
  online: navigator.onLine, syncing: false, pending: 0,
  lastSynced: Number(localStorage.getItem(LAST)) || null, error: null, rejected: [],
};
const listeners = new Set();
let again = false, timer = null, failures = 0, ws = null, wsTimer = null, wsFailures = 0, started = false;
let abort = new AbortController(), running = Promise.resolve(); // stop() aborts the sync in flight and waits for it

export const onStatus = (f) => { listeners.add(f); f(status); };
function emit() {
  // Only the tab owning the replica syncs; the others show what it announces.
  if (local.isOwner()) local.announce({ syncing: status.syncing, lastSynced: status.lastSynced, error: status.error && { code: status.error.code, message: status.error.message } });
  else Object.assign(status, local.remoteStatus());
  status.pending = local.pending() + photos.waiting.size;
  status.rejected = local.rejections();
  listeners.forEach((f) => f(status));
}

export function start() {
  if (started) return;
  started = true;
  addEventListener('online', () => { status.online = true; failures = 0; emit(); syncSoon(0); connectLive(); });
  addEventListener('offline', () => { status.online = false; emit(); ws?.close(); });
  local.onChange((what) => { emit(); if (what === 'edit') syncSoon(300); if (what === 'owner') { syncSoon(0); connectLive(); } });
  photos.scan().then(emit);
  syncSoon(0);
  connectLive();
}

/** Asks for a sync after `delay` ms (the earliest request wins). */
export function syncSoon(delay = 0) {
  if (!status.online) return;
  clearTimeout(timer);
  timer = setTimeout(syncNow, delay);
}

/** Syncs now; returns when done (or failed). A retry button calls this. */
export function syncNow() {
  clearTimeout(timer);
  if (!local.isOwner() || abort.signal.aborted) return running;
  if (status.syncing) { again = true; return running; }
  return (running = run(abort.signal));
}

async function run(signal) {
  status.syncing = true; emit();
  try {
    let more = true;
    while (more || again) {
      again = false;
      // The replica puts in what fits the server's limits; `more` brings the rest.
      const body = local.syncRequest();
      let text;
      try {
        text = await api('/v1/sync', { method: 'POST', body, gzip: true, signal, retryTimeout: false });
      } catch (e) {
        // 413: the next request is smaller (or a change no request can carry is refused), never the same.
        if (e.status === 413 && local.tooLarge(e.limits)) { more = true; emit(); continue; }
        // Too slow (the server's 408, or no answer in time): the next request carries half as much,
        // nothing is refused; a single change that took too long is sent again after the backoff.
        if ((e.status === 408 || e.code === 'timeout') && local.tooSlow()) { more = true; emit(); continue; }
        throw e;
      }
      if (signal.aborted) return; // leaving this user: nothing more is written
      const report = await local.applyResponse(text);
      more = report.more;
      if (!more) await photos.upload(signal);
    }
    failures = 0;
    status.error = null;
    status.lastSynced = Date.now();
    localStorage.setItem(LAST, String(status.lastSynced));
  } catch (e) {
    if (signal.aborted) return;
    failures += 1;
    status.error = e;
    if (e.code === 'network' && !navigator.onLine) status.online = false;
    // A busy server (503) says when there is room (Retry-After, seconds): then, plus up to a second
    // so phones told the same second do not come back in step. Otherwise 1 s, 2 s, 4 s … up to a
    // minute, with jitter.
    const delay = e.status === 503 && e.retryAfter > 0
      ? Math.min(300, e.retryAfter) * 1000 + Math.random() * 1000
      : Math.min(60_000, 1000 * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
    if (e.status !== 401) syncSoon(delay); // a token that no longer works (revoked, expired, user disabled) is not retried
  } finally {
    status.syncing = false;
    emit();
  }
}

/** Listens on the live channel while online; the server says {"type":"sync"} when there is something to pull. */
function connectLive() {
  if (!status.online || ws || !session() || !local.isOwner()) return;
  clearTimeout(wsTimer);
  const url = new URL('/v1/live', location.href); // the token goes in the first message, never the URL
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  try { ws = new WebSocket(url); } catch { ws = null; return; }
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: session()?.token }));
  ws.onmessage = (ev) => {
    let type;
    try { ({ type } = JSON.parse(ev.data)); } catch { return; }
    if (type === 'ready') { wsFailures = 0; syncSoon(0); } else if (type === 'sync') syncSoon(0);
  };
  ws.onclose = () => {
    ws = null;
    wsFailures += 1;
    if (status.online && session()) wsTimer = setTimeout(connectLive, Math.min(60_000, 1000 * 2 ** wsFailures));
  };
}

/** Stops syncing for good (this page leaves its user): aborts a sync in flight and resolves once it has ended. */
export function stop() {
  started = false;
  abort.abort();
  clearTimeout(timer); clearTimeout(wsTimer);
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  return running.catch(() => {});
}
