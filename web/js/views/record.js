// Manager: a commitment or a problem added to a dealer at any time, not only inside a visit: the dealer page's
// buttons open the visit form's own sub-form (views/visit.js, loaded on the first click) and save it without a visit.
import { t } from '../i18n.js';
import * as local from '../local.js';
import { session, stamp } from '../session.js';
import { h, toast, errorText } from '../ui.js';

// Notes on the dealer have their own card (views/notes.js).
const KINDS = ['commitment', 'problem'];

/** The dealer page's card: one button per kind; the open sub-form saves on its own. */
export function recordCard(doc, rerender) {
  const slot = h('div');
  const open = async (kind) => {
    let m;
    try { m = await import('./visit.js'); } catch (e) { toast(errorText(e), 'error'); return; }
    const close = () => { form.remove(); buttons.hidden = false; };
    // The sub-form's ✕ removes its box: the form goes with it.
    const box = m.sub(kind, () => { if (!box.isConnected) close(); });
    const form = h('form.record', { 'data-record': kind, onsubmit: async (e) => {
      e.preventDefault();
      const [coll, rec] = m.subRecord(box, session().user, Date.now());
      form.querySelector('[type=submit]').disabled = true;
      try {
        await local.edit('insert', doc, coll, rec, stamp());
        toast(t('visit.saved'));
        rerender();
      } catch (err) {
        toast(errorText(err), 'error');
        form.querySelector('[type=submit]').disabled = false;
      }
    } }, box, h('div.actions', h('button.primary', { type: 'submit', 'data-action': 'save-record' }, t('dealer.save')),
      h('button', { type: 'button', onclick: close }, t('common.cancel'))));
    buttons.hidden = true;
    slot.replaceChildren(form);
    box.querySelector('[name]').focus();
  };
  const buttons = h('div.actions', KINDS.map((k) => h('button', { type: 'button', 'data-action': `record-${k}`, onclick: () => open(k) }, t(`jv.add.${k}`))));
  return h('section.card', { 'data-section': 'record' }, h('h2', t('jv.record')), buttons, slot);
}
