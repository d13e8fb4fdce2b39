// Who is logged in on this device: the token and what /v1/me said, kept for offline starts.
const KEY = 'fieldsync.session';

export function session() {
  try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; }
}

export function saveSession(s) {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession() {
  localStorage.removeItem(KEY);
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
