// Manager: notes on a dealer made at any time, not inside a visit (newest first), and the form that adds one.
import { t } from '../i18n.js';
import * as local from '../local.js';
import { stamp } from '../session.js';
import { h, fmtTime, toast, errorText } from '../ui.js';

export function notesSection(d, doc, rerender) {
  const text = h('textarea', { name: 'note', rows: 2, required: true, maxlength: 4000, 'aria-label': t('note.add') });
  const form = h('form.inline-form', { 'data-form': 'note', onsubmit: async (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    try {
      const by = stamp();
      const { user, at } = JSON.parse(by);
      await local.edit('insert', doc, 'notes', { text: text.value.trim(), by: user, at }, by);
      toast(t('visit.saved'));
      rerender();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  } }, text, h('button', { type: 'submit' }, t('note.add')));
  const notes = Object.entries(d.notes ?? {}).map(([id, n]) => ({ id, ...n })).sort((a, b) => b.at - a.at);
  return h('section.card', { 'data-section': 'notes' }, h('h2', t('note.title')),
    h('ul.plain', notes.length ? notes.map((n) => h('li', { 'data-note': n.id }, h('div', n.text), h('div.muted', fmtTime(n.at, d.zone))))
      : h('li.muted', t('dealer.none'))),
    form);
}
