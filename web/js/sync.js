// Syncing the replica with the server: when the network returns, after each edit,
// when the live channel says so, and on retry with exponential backoff after a failure;
// then the photos.
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

export const onStatus = (f) => { listeners.add(f); f(status); };
function emit() {
  status.pending = local.pending() + photos.waiting.size;
  status.rejected = local.rejections();
  listeners.forEach((f) => f(status));
}

export function start() {
  if (started) return;
  started = true;
  addEventListener('online', () => { status.online = true; failures = 0; emit(); syncSoon(0); connectLive(); });
  addEventListener('offline', () => { status.online = false; emit(); ws?.close(); });
  local.onChange((what) => { emit(); if (what === 'edit') syncSoon(300); });
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
export async function syncNow() {
  clearTimeout(timer);
  if (status.syncing) { again = true; return; }
  status.syncing = true; emit();
  try {
    let more = true;
    while (more || again) {
      again = false;
      const body = local.syncRequest();
      const text = await api('/v1/sync', { method: 'POST', body });
      const report = await local.applyResponse(text);
      more = report.more;
      if (report.errors.length) throw Object.assign(new Error(report.errors.map((e) => `${e.doc}: ${e.message}`).join('; ')), { code: 'apply' });
      if (!more) await photos.upload();
    }
    failures = 0;
    status.error = null;
    status.lastSynced = Date.now();
    localStorage.setItem(LAST, String(status.lastSynced));
  } catch (e) {
    failures += 1;
    status.error = e;
    if (e.code === 'network' && !navigator.onLine) status.online = false;
    // 1 s, 2 s, 4 s … up to a minute, with jitter so many phones do not retry in step.
    const delay = Math.min(60_000, 1000 * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
    if (e.code !== 'unauthorized') syncSoon(delay);
  } finally {
    status.syncing = false;
    emit();
  }
}

/** Listens on the live channel while online; the server says {"type":"sync"} when there is something to pull. */
function connectLive() {
  if (!status.online || ws || !session()) return;
  clearTimeout(wsTimer);
  const url = new URL(`/v1/live?token=${encodeURIComponent(session().token)}`, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  try { ws = new WebSocket(url); } catch { ws = null; return; }
  ws.onopen = () => { wsFailures = 0; syncSoon(0); };
  ws.onmessage = (ev) => {
    try { if (JSON.parse(ev.data).type === 'sync') syncSoon(0); } catch { /* ignore other messages */ }
  };
  ws.onclose = () => {
    ws = null;
    wsFailures += 1;
    if (status.online && session()) wsTimer = setTimeout(connectLive, Math.min(60_000, 1000 * 2 ** wsFailures));
  };
}

export function stop() {
  started = false;
  clearTimeout(timer); clearTimeout(wsTimer);
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
}
