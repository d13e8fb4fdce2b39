// Photos from the camera input: shrunk and re-encoded as JPEG in a canvas, named by the
// SHA-256 of their bytes, kept in IndexedDB and uploaded by that hash; a visit records only the hash.
// Once the server has confirmed a photo, the device keeps it only within a bounded cache (newest
// first): the server has it, and the browser's HTTP cache keeps what was shown.
import * as db from './db.js';
import { api, fromServer } from './api.js';

const MAX_SIDE = 1280;
/** Bytes of uploaded photos kept on the device (a test may lower it). */
const KEEP = globalThis.fieldsyncPhotoCache ?? 50_000_000;

export async function compress(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.75));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const hash = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  return { hash, bytes, mime: 'image/jpeg', taken_at: file.lastModified || Date.now() };
}

/** Hashes of the photos not uploaded yet. */
export const waiting = new Set();

/** Keeps a compressed photo on the device (before the visit that names it is saved). */
export async function keep(p) {
  await db.write({ photos: { [p.hash]: { bytes: p.bytes, mime: p.mime, uploaded: false } } });
  waiting.add(p.hash);
}

export async function scan() {
  for (const k of await db.all('photos', 1)) if (!(await db.get('photos', k)).uploaded) waiting.add(k);
}

/** One at a time (weak signal); an error stops and is retried on the next sync, but a refused photo is not. */
export async function upload(signal) {
  let sent = 0;
  for (const k of waiting) {
    const p = await db.get('photos', k);
    try {
      await api(`/v1/photos/${k}`, { method: 'PUT', body: p.bytes, type: p.mime, signal });
      p.uploaded = true;
      p.at = Date.now();
      sent += 1;
    } catch (e) {
      if (e.status != 400) throw e;
      console.warn(e);
      p.uploaded = 'failed';
    }
    await db.write({ photos: { [k]: p } });
    waiting.delete(k);
  }
  if (sent) await prune();
}

/** Drops the oldest photos the server has confirmed beyond KEEP bytes; never one it has not. */
async function prune() {
  const kept = [];
  for (const k of await db.all('photos', 1)) {
    const p = await db.get('photos', k);
    if (p?.uploaded === true) kept.push([k, p.at ?? 0, p.bytes.length]);
  }
  let total = 0;
  const drop = {};
  for (const [k, , size] of kept.sort((a, b) => b[1] - a[1])) {
    total += size;
    if (total > KEEP) drop[k] = undefined;
  }
  if (Object.keys(drop).length) await db.write({ photos: drop });
}

export const src = (p) => URL.createObjectURL(new Blob([p.bytes], { type: p.mime }));

/**
 * An object URL for a photo from the device, else the server; null if neither gives it (offline).
 * A photo never changes (it is named by its hash), so the browser's HTTP cache may keep it:
 * the server sends it `immutable` and this fetch does not ask for `no-store`.
 */
export async function url(hash) {
  const p = await db.get('photos', hash).catch(() => null);
  if (p) return src(p);
  return fromServer(hash);
}
