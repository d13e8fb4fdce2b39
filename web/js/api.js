// Calls to the server with the device token; failures become Errors with a code.
import { session } from './session.js';

export async function api(path, { method = 'GET', body, token, type = 'application/json', blob } = {}) {
  const headers = { Authorization: `Bearer ${token ?? session()?.token ?? ''}` };
  if (body !== undefined) headers['Content-Type'] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw Object.assign(new Error(e.message), { code: 'network' });
  }
  if (blob && res.ok) return res.blob();
  const text = await res.text();
  if (!res.ok) {
    let err = {};
    try { err = JSON.parse(text); } catch { /* not JSON */ }
    throw Object.assign(new Error(err.message ?? `${res.status} ${res.statusText}`), {
      code: err.code ?? (res.status === 401 ? 'unauthorized' : 'http'), status: res.status,
    });
  }
  return text;
}

export const getJSON = async (path) => JSON.parse(await api(path));
