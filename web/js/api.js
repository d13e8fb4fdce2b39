// Calls to the server with the device token; failures become Errors with a code.
import { session } from './session.js';

const TIMEOUT = globalThis.fieldsyncTimeout ?? 30_000; // ms; a test may shorten it
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `fetch` that gives up after TIMEOUT ms (a link that looks up but passes nothing) and tries
 * again twice with backoff while the device is online; every call here is safe to repeat.
 * Without `retryTimeout` a timeout is thrown at once (sync makes its next request smaller).
 */
async function fetchRetrying(path, init, stop, retryTimeout = true) {
  for (let i = 0; ; i++) {
    try {
      const timeout = AbortSignal.timeout(TIMEOUT);
      return await fetch(path, { ...init, signal: stop ? AbortSignal.any([stop, timeout]) : timeout });
    } catch (e) {
      const code = stop?.aborted ? 'aborted' : e.name === 'TimeoutError' ? 'timeout' : 'network';
      if (i >= 2 || !navigator.onLine || stop?.aborted || (code === 'timeout' && !retryTimeout)) throw Object.assign(new Error(e.message), { code });
      await sleep(1000 * 2 ** i * (0.75 + Math.random() / 2));
    }
  }
}

/**
 * `signal` stops the call (and its retries) for good; `cache` is fetch's (data is 'no-store', but a
 * photo, named by its hash, never changes and may come from the browser's cache).
 */
export async function api(path, { method = 'GET', body, token, type = 'application/json', blob, gzip, signal, cache = 'no-store', retryTimeout } = {}) {
  const headers = { Authorization: `Bearer ${token ?? session()?.token ?? ''}` };
  if (body !== undefined) headers['Content-Type'] = type;
  // Sync bodies (JSON, base64 changes) shrink ~6× gzipped; the server inflates them within its body limit.
  if (gzip && body?.length > 1024 && typeof CompressionStream === 'function') {
    body = await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    headers['Content-Encoding'] = 'gzip';
  }
  const res = await fetchRetrying(path, { method, headers, body, cache }, signal, retryTimeout);
  if (blob && res.ok) return res.blob();
  const text = await res.text();
  if (!res.ok) {
    let err = {};
    try { err = JSON.parse(text); } catch { /* not JSON */ }
    throw Object.assign(new Error(err.message ?? `${res.status} ${res.statusText}`), {
      code: err.code ?? (res.status === 401 ? 'unauthorized' : 'http'), status: res.status, limits: err.limits,
      retryAfter: Number(res.headers.get('Retry-After')) || undefined, // seconds, when the server says when
    });
  }
  return text;
}

export const getJSON = async (path) => JSON.parse(await api(path));

/** An object URL for photo `hash` from the server or the browser's HTTP cache (it is immutable); null if neither has it. */
export const fromServer = (hash) => api(`/v1/photos/${hash}`, { blob: 1, cache: 'default' }).then((b) => URL.createObjectURL(b), () => null);
