// Photos from the camera input: shrunk and re-encoded as JPEG in a canvas, named by the
// SHA-256 of their bytes, kept in IndexedDB; a visit records only the hash.
import * as db from './db.js';

const MAX_SIDE = 1280;

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

/** Keeps a compressed photo on the device (before the visit that names it is saved). */
export async function keep(p) {
  await db.write({ photos: { [p.hash]: { bytes: p.bytes, mime: p.mime, uploaded: false } } });
}

/** An object URL for a stored photo, or null if this device does not hold it. */
export async function url(hash) {
  const p = await db.get('photos', hash);
  return p ? URL.createObjectURL(new Blob([p.bytes], { type: p.mime })) : null;
}
