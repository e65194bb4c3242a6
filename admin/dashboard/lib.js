// Shared helpers of the dashboard: calls to the management API through the
// dashboard's session, DOM building without innerHTML, formatting.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let csrfToken = '';
let unauthorized = () => {};

let cleanups = [];

// onLeave registers what to undo when the page changes (charts, timers).
export function onLeave(fn) { cleanups.push(fn); }

export function leave() {
  for (const fn of cleanups) fn();
  cleanups = [];
}

export function setCsrfToken(t) { csrfToken = t || ''; }
export function onUnauthorized(fn) { unauthorized = fn; }

// call sends a request relative to the dashboard's mount and returns the
// decoded JSON answer (null for none). Writes carry the CSRF token.
export async function call(method, url, body, headers = {}) {
  const opts = { method, headers: { ...headers }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(url, opts);
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const msg = (data && data.error && (data.error.message || data.error)) || `${res.status} ${res.statusText}`;
    if (res.status === 401 && !url.endsWith('login')) unauthorized(msg);
    throw new ApiError(res.status, String(msg));
  }
  return data;
}

// api calls a management route: path is the API's own ("/ai/accounts"),
// as are the nextPageUri links it returns.
export function api(method, path, body, headers) {
  return call(method, 'api' + path, body, headers);
}

// h builds an element: h('a', {href: '#/x', class: 'c', onClick: fn}, 'text', child).
// Strings become text nodes, so nothing from the API is ever parsed as HTML.
export function h(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value' || k === 'checked' || k === 'selected') e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

// fill replaces el's children, add appends to them; both skip null,
// false and undefined (the DOM's own methods would write "null").
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export function add(el, ...children) {
  append(el, children);
}

function append(parent, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// table renders rows under columns [{label, cell(row), num?, nowrap?}], with a caption.
export function table(caption, columns, rows, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: cellClass(c) }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: cellClass(c) }, c.cell(r))))))));
}

function cellClass(c) {
  return [c.num && 'num', c.nowrap && 'nowrap'].filter(Boolean).join(' ') || null;
}

// field is a labelled form control.
export function field(label, control, hint) {
  const id = control.id || (control.id = 'f-' + Math.random().toString(36).slice(2, 9));
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

export function select(name, options, value) {
  return h('select', { name, id: 'f-' + name },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

// notice shows a message in the page's status area (errors are alerts).
export function notice(msg, kind = 'ok') {
  const area = document.getElementById('notice');
  area.replaceChildren();
  if (!msg) return;
  area.append(h('p', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, msg));
}

// guard runs an action, showing its error instead of throwing.
export async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return undefined;
    notice(e.message || String(e), 'error');
    return undefined;
  }
}

// dialog shows a modal form and resolves with its FormData, or null when
// cancelled (Escape or the Cancel button).
export function dialog(title, body, submitLabel) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title),
      body,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, submitLabel),
        h('button', { type: 'button', value: 'cancel', onClick: () => { d.close(); } }, 'Cancel')));
    const d = h('dialog', { 'aria-label': title }, form);
    let result = null;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      result = new FormData(form);
      d.close();
    });
    d.addEventListener('close', () => { d.remove(); resolve(result); });
    document.body.append(d);
    d.showModal();
  });
}

export async function confirmDialog(message, confirmLabel = 'Delete') {
  return (await dialog('Are you sure?', h('p', {}, message), confirmLabel)) !== null;
}

// usd formats a decimal USD string ("1.250000000") as "$1.25".
export function usd(s) {
  if (s === undefined || s === null || s === '') return '—';
  let [whole, frac = ''] = String(s).split('.');
  frac = frac.replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return (whole.startsWith('-') ? '-$' + whole.slice(1) : '$' + whole) + '.' + frac;
}

export function num(n) {
  if (n === undefined || n === null) return '—';
  return Number(n).toLocaleString('en-US');
}

export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// randomKey is an idempotency key for one purchase form.
export function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// all follows nextPageUri links of a list, up to max pages.
export async function all(path, key, max = 20) {
  const out = [];
  let next = path;
  for (let i = 0; next && i < max; i++) {
    const page = await api('GET', next);
    out.push(...(page[key] || []));
    next = page.nextPageUri;
  }
  return out;
}

// lookups are names for ids, loaded once per page render.
export async function names() {
  const [accounts, keys, configs] = await Promise.all([
    all('/ai/accounts', 'accounts'),
    all('/ai/access-keys', 'accessKeys'),
    all('/ai/access-key-configurations', 'accessKeyConfigurations'),
  ]);
  const by = (list) => Object.fromEntries(list.map((x) => [x.id, x]));
  return { accounts, keys, configs, account: by(accounts), key: by(keys), config: by(configs) };
}

// short is the name alone (tables); label adds the id (choices, details).
export function short(obj, id) {
  if (!id) return '—';
  const o = obj && obj[id];
  return o && o.name ? o.name : id;
}

export function label(obj, id) {
  if (!id) return '—';
  const o = obj && obj[id];
  return o && o.name ? `${o.name} (${id})` : id;
}
