// Who is logged in on this device: the token and what /v1/me said (territories, the visit frequency per tier that
// views/today.js reads, …), kept for offline starts.
// A page keeps the session it started with: if another tab logs out or logs in as someone else,
// this page never borrows that token or name for its own edits and syncs (see onSwitch).
const KEY = 'fieldsync.session';

const read = () => {
  try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; }
};
let mine = read();

/** This page's session (the one it started with, or logged in with). */
export const session = () => mine;

export function saveSession(s) {
  localStorage.setItem(KEY, JSON.stringify(s));
  mine = s;
}

/** Takes in a fresh /v1/me, unless another tab has since logged in as someone else or out. */
export function refreshSession(me) {
  const now = read();
  if (mine && now?.user === mine.user && now.token === mine.token) saveSession({ ...now, ...me });
}

export function clearSession() {
  localStorage.removeItem(KEY);
  mine = null;
}

/** Calls `f(next)` when another tab logs out (next: null) or logs in as another user. */
export function onSwitch(f) {
  addEventListener('storage', (e) => {
    if (e.key !== KEY && e.key !== null) return;
    const next = read();
    if (next?.user !== mine?.user) f(next);
  });
}

export const isOffice = (s = session()) => s && (s.role === 'head_office' || s.role === 'regional' || s.role === 'admin');

/** The device id stamped on every change: the server's if it told us, else one made here once. */
export function deviceId() {
  const s = session();
  if (s?.device) return s.device;
  let d = localStorage.getItem('fieldsync.device');
  if (!d) {
    d = 'web-' + crypto.getRandomValues(new Uint32Array(2)).join('');
    localStorage.setItem('fieldsync.device', d);
  }
  return d;
}

/** Who, where and when for a local edit (core has no clock: the time comes from here). */
export function stamp(gps) {
  const s = session();
  return JSON.stringify({ user: s.user, device: deviceId(), at: Date.now(), ...(gps ? { gps } : {}) });
}
