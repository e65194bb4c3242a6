// The dashboard's shell: login, the hash router, logout.
import { call, h, field, notice, setCsrfToken, onUnauthorized, when, leave } from './lib.js';
import { overview, requests, requestDetail, credits, models } from './pages.js';
import { accessKeys, configurations, providerKeys, virtualModels } from './manage.js';

const routes = {
  overview: ['Overview', overview],
  requests: ['Requests', requests],
  'access-keys': ['Access keys', accessKeys],
  configurations: ['Configurations', configurations],
  'provider-keys': ['Provider keys', providerKeys],
  models: ['Providers and models', models],
  'virtual-models': ['Virtual models', virtualModels],
  credits: ['Credits', credits],
};

const page = document.getElementById('page');
const nav = document.getElementById('nav');
const logoutButton = document.getElementById('logout');
const sessionInfo = document.getElementById('session-info');
let loggedIn = false;

function showSession(s) {
  loggedIn = true;
  setCsrfToken(s.csrfToken);
  nav.hidden = false;
  logoutButton.hidden = false;
  sessionInfo.textContent = 'Session ends by ' + when(s.expiresAt);
}

function showLogin(message) {
  leave();
  loggedIn = false;
  setCsrfToken('');
  nav.hidden = true;
  logoutButton.hidden = true;
  sessionInfo.textContent = '';
  document.title = 'Log in · AI Gateway';
  const key = h('input', { type: 'password', name: 'key', id: 'login-key', required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { id: 'login-form', class: 'card narrow' },
    h('h1', {}, 'Log in'),
    h('p', {}, 'Use a management API key: the ai app\'s admin_key, or one created under /ai/api-keys. It stays on the server; this browser only gets a session cookie.'),
    field('Management API key', key),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Log in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    notice('');
    try {
      const s = await call('POST', 'login', { key: key.value });
      key.value = '';
      showSession(s);
      if (!location.hash || location.hash === '#/' || location.hash === '#/login') location.hash = '#/overview';
      else route();
    } catch (e) {
      notice(e.message, 'error');
      key.focus();
    }
  });
  page.replaceChildren(form);
  notice(message || '', message ? 'error' : 'ok');
  key.focus();
}

// route renders the page the hash names; moved says the operator
// navigated, so focus goes to the new page (keyboard and screen readers).
async function route(moved) {
  if (!loggedIn) return;
  leave();
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = hash.split('/');
  if (!routes[name]) {
    location.replace('#/overview');
    return;
  }
  const [title, render] = routes[name];
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === '#/' + name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = title + ' · AI Gateway';
  notice('');
  const container = h('div', { class: 'page', 'data-page': name });
  page.replaceChildren(container);
  const param = rest.map(decodeURIComponent).join('/');
  try {
    if (name === 'requests' && param) await requestDetail(container, param);
    else await render(container);
  } catch (e) {
    if (e.status !== 401) notice(e.message || String(e), 'error');
  }
  container.dataset.ready = 'true';
  if (moved === true) document.getElementById('main').focus({ preventScroll: true });
}

logoutButton.addEventListener('click', async () => {
  try {
    await call('POST', 'logout');
  } catch (e) {
    // the session is gone either way
  }
  showLogin('');
  notice('Logged out.', 'ok');
});

onUnauthorized((msg) => {
  if (loggedIn) showLogin(msg || 'Your session has ended: log in again.');
});

window.addEventListener('hashchange', () => route(true));

(async () => {
  try {
    const s = await call('GET', 'session');
    if (s && s.authenticated) {
      showSession(s);
      if (!routes[location.hash.replace(/^#\/?/, '').split('/')[0]]) location.replace('#/overview');
      else await route();
      return;
    }
  } catch (e) {
    notice(e.message, 'error');
  }
  showLogin('');
})();
