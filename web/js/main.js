// The app shell: login, routing, header with the sync indicator and language switch.
import { api, getJSON } from './api.js';
import { t, lang, setLang } from './i18n.js';
import { session, saveSession, refreshSession, clearSession, isOffice, onSwitch } from './session.js';
import { h, fill, fmtTime, errorText, ask, confirmStep, colon } from './ui.js';
import { undeliveredList } from './undelivered.js';

const main = document.getElementById('main');
const header = document.getElementById('header');
let local, sync; // loaded only for managers
let storageFull = false;

const updates = watchUpdates();

function parseHash() {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  return { parts: path.split('/').filter(Boolean), params: new URLSearchParams(query ?? '') };
}

function loginView(message) {
  const input = h('input', { name: 'token', required: true, autocomplete: 'off', 'aria-label': t('login.token') });
  const out = h('p.error', message ?? '');
  const form = h('form.login', { onsubmit: async (e) => {
    e.preventDefault();
    await doLogin(input.value.trim(), out);
  } }, h('h1', t('login.title')), h('p.muted', t('login.help')), h('label.field', h('span', t('login.token')), input),
  h('button.primary', { type: 'submit' }, t('login.go')), out);
  return form;
}

async function doLogin(token, out) {
  try {
    const me = JSON.parse(await api('/v1/me', { token }));
    const old = session();
    const other = old && old.user !== me.user;
    if (other && !(await leave())) return location.replace('#/');
    // The same person with a newly issued device: what this browser has not sent goes first, as the old device.
    if (old?.user === me.user && old.device !== me.device) await sync?.syncNow();
    saveSession({ ...me, token, fresh: true });
    if (other) await local?.dropIfClean();
    location.replace('#/');
    location.reload();
  } catch (e) {
    const msg = e.code === 'network' && !navigator.onLine ? t('login.offline') : errorText(e);
    if (out) out.textContent = `${t('login.failed')}: ${msg}`;
    else render(loginView(`${t('login.failed')}: ${msg}`));
  }
}

/** Exchanges a login link's one-time code for this device's token, with the user's PIN (chosen at the first
 * login, or after head office reset it), then logs in with it. The code alone asks the server which. */
async function redeem(code, pin, out, fresh) {
  let token;
  try {
    ({ token } = JSON.parse(await api('/v1/login', { method: 'POST', body: JSON.stringify({ code, [fresh ? 'new_secret' : 'secret']: pin }) })));
  } catch (e) {
    const ask = e.code === 'secret_required' || e.code === 'new_secret_required';
    if (ask && (!out || fresh !== (e.code === 'new_secret_required'))) return render(pinView(code, e.code === 'new_secret_required'));
    // A spent code is no use in the address bar; one still good stays (a language switch asks again).
    if (!out || /^login_code|^secret_locked/.test(e.code)) history.replaceState(null, '', '#/login');
    const msg = `${t('login.failed')}: ${errorText(e)}`;
    return out ? (out.textContent = msg) : render(loginView(msg));
  }
  return doLogin(token);
}

/** Asks for the user's login PIN, or (fresh) to choose one: only its holder can use their login links. */
function pinView(code, fresh) {
  const field = (name, label) => h('label.field', h('span', t(label)), h('input', { name, type: 'password', required: true, minLength: 6, maxLength: 128,
    autocomplete: fresh ? 'new-password' : 'current-password' }));
  const out = h('p.error', { role: 'alert', 'data-test': 'login-error' });
  const form = h('form.login', { 'data-test': fresh ? 'pin-new' : 'pin', onsubmit: async (e) => {
    e.preventDefault();
    const { pin, pin2 } = form.elements;
    if (fresh && pin.value !== pin2.value) return (out.textContent = t('login.pinMismatch'));
    await redeem(code, pin.value, out, fresh);
  } }, h('h1', t(fresh ? 'login.pinNew' : 'login.pinTitle')), h('p.muted', t(fresh ? 'login.pinNewHelp' : 'login.pinHelp')),
  field('pin', 'login.pin'), fresh ? field('pin2', 'login.pinAgain') : null, h('button.primary', { type: 'submit' }, t('login.go')), out);
  return form;
}

function syncIndicator() {
  const el = h('div.sync#sync', { 'data-test': 'sync' });
  if (!sync) return el;
  // Screen readers hear when the state changes (online, offline, failed), not every count.
  const said = h('span.sr', { role: 'status', 'aria-label': t('sync.label') });
  const bar = h('span.contents');
  el.append(said, bar);
  sync.onStatus((s) => {
    const err = s.error ? h('span.err', { 'data-test': 'sync-error' }, `${t('sync.error')}: ${errorText(s.error)}`) : null;
    el.dataset.state = s.online ? (s.error ? 'error' : 'online') : 'offline';
    el.dataset.pending = s.pending;
    el.dataset.syncing = s.syncing;
    const state = s.online ? (s.error ? t('sync.error') : t('sync.online')) : t('sync.offline');
    if (said.textContent !== state) said.textContent = state;
    fill(bar,
      h(`span.dot.${s.online ? 'on' : 'off'}`), h('span', { 'data-test': 'online' }, s.online ? t('sync.online') : t('sync.offline')),
      h('span.pending', { 'data-test': 'pending' }, `${s.pending} ${t('sync.pending')}`),
      h('span.muted', { 'data-test': 'last-synced' }, s.syncing ? t('sync.syncing') : `${t('sync.last')}: ${s.lastSynced ? fmtTime(s.lastSynced) : t('sync.never')}`),
      s.rejected.map((r) => h('span.err', { 'data-test': 'rejected', 'data-code': r.code, title: r.message }, `${r.doc} ${t('sync.rejected')}${colon()}${errorText(r)} `,
        h('button.small', { onclick: async () => { if (await confirmStep(t('sync.discardConfirm'), t('sync.discard'))) { await local.discard(r.doc); sync.syncNow(); } } }, t('sync.discard')))),
      err, s.error || s.rejected.length ? h('button.small', { 'data-action': 'retry', onclick: () => sync.syncNow() }, t('sync.retry')) : null,
      damagedList(), undeliveredList(local?.undelivered), storageFull ? h('span.err', { 'data-test': 'storage' }, t('storage.full')) : null);
  });
  return el;
}

/** Stored documents that cannot be read, each with a way to fetch it again from the server. */
function damagedList() {
  if (!local?.damaged.length) return null;
  return h('div.err', { 'data-test': 'damaged' }, `${t('damaged.title')}: `, local.damaged.map((d) => h('span', { 'data-doc': d.doc, 'data-stored': String(!!d.stored) }, `${d.doc} (${d.stored ? '' : `${t('damaged.notApplied')}: `}${errorText(d)}) `,
    h('button.small', { 'data-action': 'refetch', onclick: async () => { await local.refetch(d.doc); sync.syncNow(); } }, t('damaged.refetch')))));
}

/** Before the device leaves this user (log out, a login link for someone else): unsynced work is never dropped
 * silently. It stays in this user's database until synced; with nothing unsent, the caller deletes the
 * database (`local.dropIfClean`, after the session changed, so that a tab owning the replica lets go). False: stay. */
async function leave() {
  if (!local) return true;
  for (;;) {
    const n = local.unsent();
    if (n === 0) { await sync?.stop(); return true; }
    const c = await ask(`${t('unsent.warn')}${Number.isNaN(n) ? '' : ` (${n})`}`,
      [['sync', t('unsent.sync')], ['keep', t('unsent.keep')], ['cancel', t('common.cancel')]]);
    if (c === 'keep') { await sync?.stop(); local.release(); local = null; return true; }
    if (c !== 'sync') return false;
    await sync?.syncNow();
  }
}

async function logout() {
  if (!(await leave())) return;
  clearSession();
  await local?.dropIfClean();
  location.replace('#/');
  location.reload();
}

// Another tab logged out or in as someone else: this page stops syncing and editing for its user at once
// (it never uses the other session's token or name), gives the replica up, and starts again as that tab left it.
onSwitch(async () => {
  await sync?.stop();
  local?.release();
  location.reload();
});

/** Asks the browser not to evict this origin's data, and warns when storage is nearly full. */
async function checkStorage() {
  if (!local.isOwner() || !navigator.storage?.estimate) return;
  await navigator.storage.persist?.().catch(() => {});
  const e = await navigator.storage.estimate();
  storageFull = e.quota > 0 && e.usage / e.quota > 0.9;
}

function drawHeader() {
  const s = session();
  fill(header, h('div.bar',
    h('a.brand', { href: '#/' }, t('app.title')),
    s ? h('nav', isOffice(s) ? h('a', { href: '#/office/territories' }, t('nav.office')) : h('a', { href: '#/dealers' }, t('nav.dealers'))) : null,
    h('span.spacer'),
    s ? h('span.who', s.name) : null,
    // A PIN reset by head office is never silent: the user sees who did it, and when, for 30 days.
    s?.secret_reset_at > Date.now() - 30 * 864e5 ? h('span.err', { 'data-test': 'pin-reset' }, `${t('login.pinReset')}${colon()}${s.secret_reset_by} ${fmtTime(s.secret_reset_at)}`) : null,
    h('button.small', { 'data-action': 'lang', onclick: () => { setLang(lang() === 'en' ? 'zh-Hant' : 'en'); drawHeader(); route(); } }, t('lang.switch')),
    s ? h('button.small', { 'data-action': 'logout', onclick: logout }, t('nav.logout')) : null),
  s && !isOffice(s) ? syncIndicator() : null);
}

let shown; // the address last drawn: a new one moves focus to the new view's heading

/** Shows a view; the window's title follows it (its heading, or `title`). */
function render(node, title) {
  later = false;
  main.replaceChildren(node);
  const head = main.querySelector('h1');
  document.title = [title ?? head?.textContent, t('app.title')].filter(Boolean).join(' · ');
  if (shown !== undefined && shown !== location.hash && head) {
    head.tabIndex = -1;
    head.focus();
  }
  shown = location.hash;
}

let editing = false; // the visit form is on screen: incoming syncs do not redraw it
// Nor is a form someone typed in, or a field someone is in (a select, the search box): the redraw waits until they leave it.
let later = false;
const busy = () => editing || main.querySelector(':is(input, select, textarea):focus') || [...main.querySelectorAll('form[data-dirty]')].some((f) => !f.hidden);
main.addEventListener('input', (e) => { if (e.target.form) e.target.form.dataset.dirty = 'true'; });
const settle = () => setTimeout(() => { if (later && !busy()) route(); });
main.addEventListener('focusout', settle);
main.addEventListener('click', settle);

let routing = 0; // the newest route() call: an older one that was still loading a view draws nothing

/** A screen's module; offline before the service worker has cached it, the page says so and offers to try again. */
async function screen(load, stale) {
  try {
    return await load();
  } catch (e) {
    if (navigator.onLine) throw e; // a broken version, not a missing file
    if (!stale()) render(h('div.error', { role: 'alert', 'data-test': 'screen-missing' }, h('p', t('app.screenMissing')),
      h('button', { type: 'button', onclick: () => location.reload() }, t('sync.retry'))));
    return null;
  }
}

async function route() {
  const mine = ++routing;
  const stale = () => mine !== routing;
  const { parts, params } = parseHash();
  if (parts[0] === 'login') {
    const code = params.get('code'); // a login link carries a one-time code, never the token
    if (code) return redeem(code);
    return render(loginView());
  }
  const s = session();
  if (!s) return render(loginView());
  if (isOffice(s)) {
    updates.office();
    const m = await screen(() => import('./views/office.js'), stale);
    if (!m || stale()) return;
    const { officeView, TABS } = m;
    const tab = parts[0] === 'office' ? parts[1] : undefined;
    const name = t(`office.${TABS.includes(tab) || tab === 'dealer' || tab === 'manager' ? tab : 'territories'}`);
    return render(officeView({ tab }), `${name} · ${t('office.title')}`);
  }
  editing = false;
  const rerender = () => route();
  // The documents a screen reads are loaded first (local.js loads them lazily): a dealer's page its own, a new
  // dealer the territories', the handover every dealer's; the home screen and my commitments read the summaries.
  if (local) {
    await (parts[0] === 'dealer' && parts[1] ? local.ensure([`dealer:${parts[1]}`])
      : parts[0] === 'handover' || parts[1] === 'new' ? local.ensureAll(parts[1] === 'new' ? 'territory' : 'dealer')
        : local.summarise()).catch(() => {}); // unreadable ones are listed as damaged
    if (stale()) return;
  }
  if (parts[0] === 'dealer' && parts[1]) {
    if (parts[2] === 'visit') {
      const m = await screen(() => import('./views/visit.js'), stale);
      if (!m || stale()) return;
      const { visitView } = m;
      editing = true;
      return render(visitView({ id: parts[1] }, rerender, (href) => { location.hash = href; }));
    }
    const m = await screen(() => import('./views/dealer.js'), stale);
    if (!m || stale()) return;
    const { dealerView } = m;
    return render(dealerView({ id: parts[1] }, rerender));
  }
  if (parts[0] === 'dealers' && parts[1] === 'new') {
    const m = await screen(() => import('./views/dealer-new.js'), stale);
    if (!m || stale()) return;
    editing = true;
    return render(m.dealerNewView((href) => { location.hash = href; }));
  }
  if (parts[0] === 'handover') {
    const m = await screen(() => import('./views/handover.js'), stale);
    return m && !stale() && render(m.handoverView(rerender));
  }
  if (parts[0] === 'commitments') {
    const m = await screen(() => import('./views/mine.js'), stale);
    const v = m && (await m.mineView());
    return v && !stale() && render(v);
  }
  const m = await screen(() => import('./views/dealers.js'), stale);
  if (!m || stale()) return;
  const { dealersView } = m;
  render(dealersView());
  main.dataset.ready = 'dealers';
  performance.mark('dealers-interactive');
}

async function start() {
  const s = session();
  // The start right after logging in (the login just read /v1/me): taken at once, so a reload before this
  // start is done still refreshes who I am (a PIN reset shown, territories) on the next.
  const loggedIn = s?.fresh;
  if (loggedIn) saveSession({ ...s, fresh: undefined });
  if (s && !isOffice(s)) {
    try {
      local = await import('./local.js');
      await local.load(`fieldsync:${s.user}`, s.device);
      sync = await import('./sync.js');
      local.onChange((what) => { if (what === 'sync') { if (busy()) later = true; else route(); } });
      sync.start();
      checkStorage();
    } catch (e) {
      drawHeader(); // log out and the language switch stay reachable
      render(h('p.error', errorText(e)));
      return;
    }
  }
  drawHeader();
  addEventListener('hashchange', route);
  await route();
  updates.booted();
  if (!loggedIn && s && !isOffice(s)) {
    // Refresh who I am and my territories when online; offline we keep what we had.
    getJSON('/v1/me').then(refreshSession).catch(() => {});
  }
}

// Updates (see sw.js): a new version waits until this page is at a safe point (no form with input,
// no sync running), then a banner offers to reload into it. A page never switches version while open.
function watchUpdates() {
  const sw = navigator.serviceWorker;
  if (!sw) return { register() {}, booted() {}, office() {} };
  let officeAsked = false, registered = false;
  let ready = false, asked = false, controlled = !!sw.controller;
  const bar = h('div.update', { hidden: true, role: 'status', 'data-test': 'update' });
  header.after(bar);
  const touched = new WeakSet();
  const safe = () => !editing && !sync?.status.syncing && ![...main.querySelectorAll('form')].some((f) => !f.hidden && touched.has(f));
  const check = () => {
    bar.dataset.ready = ready; // ready, shown once the page is at a safe point
    bar.hidden = !(ready && safe());
    if (!bar.hidden) fill(bar, h('span', t('update.ready')), h('button.small.primary', { 'data-action': 'update', onclick: apply }, t('update.reload')));
  };
  async function apply() {
    asked = true;
    const reg = await sw.getRegistration();
    if (reg?.waiting) reg.waiting.postMessage('skip-waiting');
    else location.reload(); // another tab already switched to the new version
  }
  main.addEventListener('input', (e) => { if (e.target.form) touched.add(e.target.form); check(); });
  new MutationObserver(check).observe(main, { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'] });
  sw.addEventListener('controllerchange', () => {
    if (asked) return location.reload();
    ready = controlled; // the first install taking this page over is no update
    controlled = true;
    check();
  });
  return {
    /** Registered once the page has started (or failed to; or after 30 s, should it hang), so the
     *  worker's install finds the files the page loaded in the HTTP cache and revalidates them (304)
     *  instead of downloading them a second time beside the page. */
    register() {
      if (registered) return;
      registered = true;
      sw.register('./sw.js').then((reg) => {
        const found = () => { if (reg.waiting && sw.controller) { ready = true; check(); } };
        reg.addEventListener('updatefound', () => reg.installing?.addEventListener('statechange', found));
        // The browser may have found the new version while the page was starting: its install is under way.
        reg.installing?.addEventListener('statechange', found);
        found();
      }).catch(() => {});
    },
    booted() {
      sync?.onStatus(check);
      sw.controller?.postMessage('booted');
    },
    /** Head office: its screens are cached too (a manager's phone never downloads them). */
    office() {
      if (officeAsked || !sw.controller) return;
      officeAsked = true;
      sw.controller.postMessage('precache-all');
    },
  };
}

// A start that fails still lets a fixed version arrive; the failure stays an uncaught error. Not on the login
// screen: logging in reloads the page, whose imports would race the worker's install for the same files.
setTimeout(updates.register, 30_000);
start().finally(() => { if (session()) updates.register(); });
