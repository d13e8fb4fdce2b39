// Edits this device made in a territory it can no longer read (an administrator took it away):
// the replica kept them aside instead of dropping them. Listed as not delivered, each exportable
// as an Automerge file; they go out by themselves if access comes back. Never a default Discard.
import { t } from './i18n.js';
import { h } from './ui.js';

/** Saves the kept document (base64 Automerge bytes) as a file. */
function download(u) {
  const bytes = Uint8Array.from(atob(u.bytes), (c) => c.charCodeAt(0));
  const a = h('a', { href: URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' })), download: `${u.doc.replace(':', '-')}.automerge` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The list for the sync bar, or null when nothing is undelivered. */
export function undeliveredList(kept) {
  if (!kept?.length) return null;
  return h('div.err', { 'data-test': 'undelivered' }, h('strong', t('undelivered.title')), ' ', h('span.muted', t('undelivered.help')),
    kept.map((u) => h('div', { 'data-doc': u.doc }, `${u.name ?? u.doc}: `,
      Object.entries(u.records ?? {}).map(([c, n]) => `${t(`undelivered.${c}`)} ${n} · `), `${u.changes} ${t('undelivered.changes')} `,
      h('button.small', { 'data-action': 'export', onclick: () => download(u) }, t('undelivered.export')))));
}
