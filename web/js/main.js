// The app shell: login, routing, header with the sync indicator and language switch.
import { api, getJSON } from './api.js';
import { t, lang, setLang } from './i18n.js';
import { session, saveSession, clearSession, isOffice } from './session.js';
import { h, fill, fmtTime, errorText } from './ui.js';
import * as db from './db.js';

const main = document.getElementById('main');
const header = document.getElementById('header');
let local, sync; // loaded only for managers

if ('serviceWorker' in navigator) navigator.serviceWorker.register('./sw.js').catch(() => {});

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
    if (old && old.user !== me.user) await db.clear(); // another person's data never stays on the device
    saveSession({ ...me, token });
    location.replace('#/');
    location.reload();
  } catch (e) {
    const msg = e.code === 'network' && !navigator.onLine ? t('login.offline') : errorText(e);
    if (out) out.textContent = `${t('login.failed')}: ${msg}`;
    else render(loginView(`${t('login.failed')}: ${msg}`));
  }
}

function syncIndicator() {
  const el = h('div.sync#sync', { 'data-test': 'sync' });
  if (!sync) return el;
  sync.onStatus((s) => {
    const err = s.error ? h('span.err', { 'data-test': 'sync-error' }, `${t('sync.error')}: ${errorText(s.error)}`) : null;
    el.dataset.state = s.online ? (s.error ? 'error' : 'online') : 'offline';
    el.dataset.pending = s.pending;
    el.dataset.syncing = s.syncing;
    fill(el,
      h(`span.dot.${s.online ? 'on' : 'off'}`), h('span', { 'data-test': 'online' }, s.online ? t('sync.online') : t('sync.offline')),
      h('span.pending', { 'data-test': 'pending' }, `${s.pending} ${t('sync.pending')}`),
      h('span.muted', { 'data-test': 'last-synced' }, s.syncing ? t('sync.syncing') : `${t('sync.last')}: ${s.lastSynced ? fmtTime(s.lastSynced) : t('sync.never')}`),
      s.rejected.map((r) => h('span.err', { 'data-test': 'rejected' }, `${r.doc} ${t('sync.rejected')}: ${r.message} `,
        h('button.small', { onclick: async () => { if (confirm(t('sync.discard') + '?')) { await local.discard(r.doc); sync.syncNow(); } } }, t('sync.discard')))),
      err, s.error || s.rejected.length ? h('button.small', { 'data-action': 'retry', onclick: () => sync.syncNow() }, t('sync.retry')) : null);
  });
  return el;
}

function drawHeader() {
  const s = session();
  fill(header, h('div.bar',
    h('a.brand', { href: '#/' }, t('app.title')),
    s ? h('nav', isOffice(s) ? h('a', { href: '#/office/territories' }, t('nav.office')) : h('a', { href: '#/dealers' }, t('nav.dealers'))) : null,
    h('span.spacer'),
    s ? h('span.who', s.name) : null,
    h('button.small', { 'data-action': 'lang', onclick: () => { setLang(lang() === 'en' ? 'zh-Hant' : 'en'); drawHeader(); route(); } }, t('lang.switch')),
    s ? h('button.small', { 'data-action': 'logout', onclick: async () => { sync?.stop(); clearSession(); await db.clear(); location.replace('#/'); location.reload(); } }, t('nav.logout')) : null),
  s && !isOffice(s) ? syncIndicator() : null);
}

function render(node) {
  main.replaceChildren(node);
}

let editing = false; // a form with unsaved input is on screen: incoming syncs do not redraw it

async function route() {
  const { parts, params } = parseHash();
  if (parts[0] === 'login') {
    const token = params.get('token');
    if (token) return doLogin(token);
    return render(loginView());
  }
  const s = session();
  if (!s) return render(loginView());
  if (isOffice(s)) {
    const { officeView } = await import('./views/office.js');
    return render(officeView({ tab: parts[0] === 'office' ? parts[1] : undefined }));
  }
  editing = false;
  const rerender = () => route();
  if (parts[0] === 'dealer' && parts[1]) {
    if (parts[2] === 'visit') {
      const { visitView } = await import('./views/visit.js');
      editing = true;
      return render(visitView({ id: parts[1] }, rerender, (href) => { location.hash = href; }));
    }
    const { dealerView } = await import('./views/dealer.js');
    return render(dealerView({ id: parts[1] }, rerender));
  }
  const { dealersView } = await import('./views/dealers.js');
  render(dealersView());
  main.dataset.ready = 'dealers';
  performance.mark('dealers-interactive');
}

async function start() {
  const s = session();
  if (s && !isOffice(s)) {
    try {
      local = await import('./local.js');
      await local.load();
      sync = await import('./sync.js');
      local.onChange((what) => { if (what === 'sync' && !editing && !main.querySelector('form:not([hidden]) input:focus')) route(); });
      sync.start();
    } catch (e) {
      render(h('p.error', errorText(e)));
      return;
    }
  }
  drawHeader();
  addEventListener('hashchange', route);
  await route();
  if (s && !isOffice(s)) {
    // Refresh who I am and my territories when online; offline we keep what we had.
    getJSON('/v1/me').then((me) => saveSession({ ...session(), ...me })).catch(() => {});
  }
}

start();
