// The phone's GPS as form fields: waits for a fix (minutes on a cold start), hands over to typed coordinates.
import { t } from './i18n.js';
import { h, field } from './ui.js';

// A cold start with no network (no assisted GPS) can take minutes to find satellites: the fix is
// watched for up to WAIT ms, the best one so far is kept, and a fix within GOOD metres ends the wait.
const WAIT = globalThis.fieldsyncGpsWait ?? 180_000; // a test may shorten it
const GOOD = 20;

/** Latitude, longitude and accuracy fields (`manual`: typed) with a locate button; `changed()` hears of a new fix. */
export function gpsBlock(changed) {
  const lat = h('input', { name: 'lat', type: 'number', step: 'any', min: -90, max: 90 });
  const lon = h('input', { name: 'lon', type: 'number', step: 'any', min: -180, max: 180 });
  const acc = h('input', { name: 'accuracy', type: 'number', step: 'any', min: 0 });
  const manual = h('input', { type: 'hidden', name: 'manual', value: 'true' });
  const note = h('span.muted', { 'data-test': 'gps-status', role: 'status' });
  let watch = null, timer, tick, best = null;
  const locate = h('button', { type: 'button', 'data-action': 'locate', onclick: () => start() }, t('visit.locate'));
  const halt = h('button', { type: 'button', 'data-action': 'stop-locate', hidden: true, onclick: () => stop() }, t('visit.gpsStop'));
  const stop = () => {
    if (watch != null) navigator.geolocation.clearWatch(watch);
    watch = null;
    clearTimeout(timer); clearInterval(tick);
    halt.hidden = true; locate.hidden = false;
    note.dataset.state = best ? 'fix' : 'none';
    note.textContent = best ? `±${acc.value} m` : '';
  };
  /** No fix: say why, and hand over to the typed fields. */
  const fallback = (key) => {
    stop();
    note.dataset.state = 'manual';
    note.textContent = t(key);
    lat.focus();
  };
  const typed = () => { manual.value = 'true'; if (watch != null) stop(); };
  [lat, lon, acc].forEach((i) => i.addEventListener('input', typed));
  const start = () => {
    if (!navigator.geolocation) return fallback('visit.gpsFailed');
    best = null;
    const began = Date.now();
    const progress = () => {
      if (!note.isConnected) return stop(); // the form is gone
      note.dataset.state = 'locating';
      note.textContent = `${t('visit.locating')} ${Math.round((Date.now() - began) / 1000)} ${t('visit.seconds')}${best ? ` · ±${acc.value} m` : ''}`;
    };
    locate.hidden = true; halt.hidden = false;
    tick = setInterval(progress, 1000);
    progress();
    timer = setTimeout(() => (best ? stop() : fallback('visit.gpsTimeout')), WAIT);
    watch = navigator.geolocation.watchPosition((p) => {
      if (best && p.coords.accuracy >= best.accuracy) return;
      best = p.coords;
      lat.value = best.latitude.toFixed(6);
      lon.value = best.longitude.toFixed(6);
      acc.value = Math.max(1, Math.round(best.accuracy));
      manual.value = 'false';
      changed();
      if (best.accuracy <= GOOD) stop(); else progress();
    }, (e) => {
      // Denied: ask no more. Otherwise (no signal yet) keep listening until WAIT is up.
      if (e.code === e.PERMISSION_DENIED) fallback('visit.gpsDenied');
      else if (e.code === e.TIMEOUT) (best ? stop() : fallback('visit.gpsTimeout'));
    }, { enableHighAccuracy: true, timeout: WAIT, maximumAge: 0 });
  };
  return h('fieldset', h('legend', t('visit.gps')),
    h('div.actions', locate, halt, note),
    h('div.row3', field(t('visit.lat'), lat), field(t('visit.lon'), lon), field(t('visit.accuracy'), acc)), manual);
}
