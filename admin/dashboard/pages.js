// The reading pages: Overview, Requests (and one request's attempts),
// Providers and models, Credits.
import {
  api, fill, add, all, h, table, field, select, notice, guard, usd, num, when, names, label, short, randomKey, onLeave,
} from './lib.js';

const palette = ['#1f5fbf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d', '#364fc7', '#495057'];

// autoRefresh adds a checkbox that reruns load every 10 s while the page is shown.
function autoRefresh(load) {
  let timer = null;
  const box = h('input', { type: 'checkbox', id: 'auto-refresh' });
  box.addEventListener('change', () => {
    clearInterval(timer);
    timer = box.checked ? setInterval(load, 10000) : null;
  });
  onLeave(() => clearInterval(timer));
  return h('div', { class: 'check' }, box, h('label', { for: 'auto-refresh' }, 'Refresh every 10 s'));
}

// ---- Overview ----

const spans = {
  '24h': { label: 'Last 24 hours (hourly)', bucket: 'hour', n: 24 },
  '7d': { label: 'Last 7 days (daily)', bucket: 'day', n: 7 },
  '30d': { label: 'Last 30 days (daily)', bucket: 'day', n: 30 },
  '90d': { label: 'Last 90 days (daily)', bucket: 'day', n: 90 },
};

// window of a span, aligned to whole UTC buckets as the API counts them.
function spanWindow(key) {
  const s = spans[key];
  const step = s.bucket === 'hour' ? 3600e3 : 86400e3;
  const end = Math.floor(Date.now() / step) * step + step;
  return { from: new Date(end - s.n * step), to: new Date(end), bucket: s.bucket, step };
}

function bucketLabel(t, bucket) {
  const d = new Date(t);
  const p = (x) => String(x).padStart(2, '0');
  return bucket === 'hour' ? `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:00` : `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
}

const groupFields = { provider: 'providerId', model: 'model', accessKey: 'accessKeyId', account: 'accountId' };

export async function overview(root) {
  const n = await names();
  const spanSel = select('span', Object.entries(spans).map(([k, v]) => [k, v.label]), '7d');
  const groupSel = select('groupBy', [['', 'Not grouped'], ['provider', 'Provider'], ['model', 'Model'], ['accessKey', 'Access key'], ['account', 'Account']], 'model');
  const accountSel = select('accountId', [['', 'All accounts'], ...n.accounts.map((a) => [a.id, label(n.account, a.id)])], '');
  const balances = h('section', { 'aria-labelledby': 'balances-h' });
  const totals = h('section', { 'aria-labelledby': 'totals-h' });
  const charts = h('section', { 'aria-labelledby': 'charts-h' });
  let live = [];
  onLeave(() => live.forEach((c) => c.destroy()));

  async function loadBalances() {
    const rows = await Promise.all(n.accounts.map(async (a) => ({ a, b: await api('GET', '/ai/credits/balance?accountId=' + encodeURIComponent(a.id)) })));
    fill(balances, h('h2', { id: 'balances-h' }, 'Credits by account'),
      table('Balance, held and available credits per account', [
        { label: 'Account', cell: (r) => short(n.account, r.a.id) },
        { label: 'Balance', num: true, cell: (r) => usd(r.b.balance) },
        { label: 'Held', num: true, cell: (r) => usd(r.b.held) },
        { label: 'Available', num: true, cell: (r) => h('strong', {}, usd(r.b.available)) },
        { label: 'Next expiry', cell: (r) => (r.b.nextExpiry ? `${usd(r.b.nextExpiry.amount)} on ${when(r.b.nextExpiry.expiresAt)}` : '—') },
      ], rows, 'No accounts.'));
  }

  async function loadUsage() {
    const w = spanWindow(spanSel.value);
    const q = new URLSearchParams({ from: w.from.toISOString(), to: w.to.toISOString(), bucket: w.bucket });
    if (groupSel.value) q.set('groupBy', groupSel.value);
    if (accountSel.value) q.set('accountId', accountSel.value);
    const o = await api('GET', '/ai/usage/overview?' + q);
    const t = o.totals;
    fill(totals, h('h2', { id: 'totals-h' }, 'Totals for the range'),
      h('dl', { class: 'stats' },
        stat('Spent', usd(t.spent)), stat('Requests', num(t.requests)), stat('Failed requests', num(t.failedRequests)),
        stat('Attempts', num(t.attempts)), stat('Input tokens', num(t.inputTokens)), stat('Output tokens', num(t.outputTokens)),
        stat('Provider cost', usd(t.cost)), stat('Fees', usd(t.fees))));

    // every bucket of the range, empty ones too, in time order
    const slots = [];
    for (let s = w.from.getTime(); s < w.to.getTime(); s += w.step) slots.push(s);
    const groupField = groupFields[groupSel.value];
    const groups = new Map();
    for (const b of o.buckets) {
      const g = groupField ? b[groupField] || '(none)' : 'All';
      if (!groups.has(g)) groups.set(g, new Map());
      groups.get(g).set(new Date(b.start).getTime(), b);
    }
    const groupName = (g) => {
      if (groupSel.value === 'accessKey') return label(n.key, g);
      if (groupSel.value === 'account') return label(n.account, g);
      return g;
    };
    const labels = slots.map((s) => bucketLabel(s, w.bucket));
    live.forEach((c) => c.destroy());
    live = [];
    const money = (v) => '$' + (v === 0 ? '0' : Number(v).toLocaleString('en-US', { maximumSignificantDigits: 3, maximumFractionDigits: 9 }));
    const count = (v) => Number(v).toLocaleString('en-US');
    const metrics = [
      ['spend', 'Spend (USD)', (b) => Number(b.spent), money],
      ['requests', 'Requests', (b) => b.requests, count],
      ['errors', 'Failed requests', (b) => b.failedRequests, count],
    ];
    const figures = metrics.map(([id, title, value, tick]) => {
      const canvas = h('canvas', { id: 'chart-' + id, role: 'img', 'aria-label': `${title} per ${w.bucket}, ${spans[spanSel.value].label}` });
      const fig = h('figure', { class: 'chart' }, h('figcaption', {}, title), h('div', { class: 'chart-box' }, canvas));
      const datasets = [...groups.entries()].map(([g, byStart], i) => ({
        label: groupName(g),
        data: slots.map((s) => (byStart.has(s) ? value(byStart.get(s)) : 0)),
        backgroundColor: palette[i % palette.length],
      }));
      return { fig, canvas, datasets, title, tick, integer: id !== 'spend' };
    });
    fill(charts, h('h2', { id: 'charts-h' }, 'Over time'),
      o.buckets.length ? null : h('p', { class: 'empty' }, 'No traffic in this range yet.'),
      h('div', { class: 'charts' }, figures.map((f) => f.fig)),
      h('details', {}, h('summary', {}, 'The numbers as a table'),
        table('Usage per bucket', [
          { label: 'Bucket', cell: (b) => bucketLabel(new Date(b.start).getTime(), w.bucket) },
          { label: 'Group', cell: (b) => (groupField ? groupName(b[groupField] || '(none)') : 'All') },
          { label: 'Requests', num: true, cell: (b) => num(b.requests) },
          { label: 'Failed', num: true, cell: (b) => num(b.failedRequests) },
          { label: 'Tokens in / out', num: true, cell: (b) => `${num(b.inputTokens)} / ${num(b.outputTokens)}` },
          { label: 'Spent', num: true, cell: (b) => usd(b.spent) },
        ], o.buckets, 'No traffic in this range.')));
    for (const f of figures) {
      live.push(new window.Chart(f.canvas, {
        type: 'bar',
        data: { labels, datasets: f.datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          scales: {
            x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true } },
            y: { stacked: true, beginAtZero: true, ticks: { callback: f.tick, precision: f.integer ? 0 : undefined } },
          },
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 12 } },
            tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${f.tick(c.parsed.y)}` } },
          },
        },
      }));
    }
  }

  const load = () => guard(() => Promise.all([loadBalances(), loadUsage()]));
  const form = h('form', { class: 'toolbar', 'aria-label': 'Usage range and grouping' },
    field('Range', spanSel), field('Group by', groupSel), field('Account', accountSel),
    h('button', { type: 'submit' }, 'Refresh'), autoRefresh(load));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  for (const s of [spanSel, groupSel, accountSel]) s.addEventListener('change', load);
  add(root, h('h1', {}, 'Overview'), form, balances, totals, charts);
  await Promise.all([loadBalances(), loadUsage()]);
}

function stat(name, value) {
  return h('div', {}, h('dt', {}, name), h('dd', {}, value));
}

// ---- Requests ----

const requestSpans = { '1h': ['Last hour', 3600e3], '24h': ['Last 24 hours', 86400e3], '7d': ['Last 7 days', 7 * 86400e3], '30d': ['Last 30 days', 30 * 86400e3] };

// why says in words what the gateway did after an attempt.
export function why(action) {
  return {
    succeeded: 'Succeeded: the answer went to the client',
    next_key: 'Moved on to the next provider key',
    next_backend: 'Moved on to the next model or provider',
    retry_same_backend: 'Waited out a short Retry-After and tried the same key again',
    fail_fast: 'Ended: an error retrying could not fix',
    exhausted: 'Ended: every candidate was tried',
    client_closed: 'Ended: the client went away',
    firewall_blocked: 'Refused by the firewall before any provider was called',
  }[action] || action || '—';
}

// outcome is why() in a word or two, for tables.
function outcome(action) {
  return {
    succeeded: 'succeeded', next_key: 'next key', next_backend: 'next model', retry_same_backend: 'retried',
    fail_fast: 'failed', exhausted: 'all failed', client_closed: 'client left', firewall_blocked: 'firewall',
  }[action] || action || '—';
}

function statusBadge(e) {
  const ok = e.status >= 200 && e.status < 300 && (e.retryAction === 'succeeded' || !e.retryAction);
  return h('span', { class: 'badge ' + (ok ? 'good' : 'bad') }, String(e.status || '—'));
}

export async function requests(root) {
  const n = await names();
  const providers = (await api('GET', '/ai/providers')).providers;
  const spanSel = select('span', Object.entries(requestSpans).map(([k, v]) => [k, v[0]]), '24h');
  const keySel = select('accessKeyId', [['', 'Any access key'], ...n.keys.map((k) => [k.id, label(n.key, k.id)])], '');
  const provSel = select('providerId', [['', 'Any provider'], ...providers.map((p) => [p.providerId, p.providerId])], '');
  const model = h('input', { type: 'text', name: 'model', id: 'f-model', placeholder: 'e.g. gpt-4o-mini', autocomplete: 'off' });
  const statusSel = select('status', [['', 'Any status'], ['ok', 'Succeeded'], ['failed', 'Failed']], '');
  const retries = h('input', { type: 'checkbox', id: 'f-retries', name: 'includeRetries' });
  const results = h('section', { 'aria-label': 'Requests found', id: 'request-list' });
  let rows = [];
  let next = null;

  const statusOK = (e) => e.status >= 200 && e.status < 300;
  function render() {
    const shown = rows.filter((e) => !statusSel.value || (statusSel.value === 'ok') === statusOK(e));
    fill(results, 
      table(`Requests, newest first (${shown.length} shown)`, [
        { label: 'Time', nowrap: true, cell: (e) => when(e.timestamp) },
        { label: 'Request', cell: (e) => h('a', { href: '#/requests/' + encodeURIComponent(e.requestId), class: 'mono' }, e.requestId) },
        { label: 'Access key', cell: (e) => short(n.key, e.accessKeyId) },
        { label: 'Model', nowrap: true, cell: (e) => `${e.providerId}:${e.model}` },
        { label: 'Status', cell: statusBadge },
        { label: 'Outcome', nowrap: true, cell: (e) => `${outcome(e.retryAction)}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}` },
        { label: 'Tokens in/out', num: true, cell: (e) => `${num(e.inputTokens)} / ${num(e.outputTokens)}` },
        { label: 'Cost', num: true, cell: (e) => usd(e.cost) },
        { label: 'Latency', num: true, cell: (e) => `${num(e.latencyMs)} ms` },
      ], shown, 'No requests match.'),
      next ? h('button', { type: 'button', id: 'load-more', onClick: () => guard(more) }, 'Load older requests') : null);
  }
  async function more() {
    const page = await api('GET', next);
    rows.push(...page.usage);
    next = page.nextPageUri;
    render();
  }
  async function load() {
    const to = new Date(Date.now() + 60e3);
    const q = new URLSearchParams({ from: new Date(to - requestSpans[spanSel.value][1] - 60e3).toISOString(), to: to.toISOString(), limit: '50' });
    if (keySel.value) q.set('accessKeyId', keySel.value);
    if (provSel.value) q.set('providerId', provSel.value);
    if (model.value.trim()) q.set('model', model.value.trim());
    if (retries.checked) q.set('includeRetries', 'true');
    const page = await api('GET', '/ai/usage?' + q);
    rows = page.usage;
    next = page.nextPageUri;
    render();
  }
  const form = h('form', { class: 'toolbar', 'aria-label': 'Filter requests' },
    field('Range', spanSel), field('Access key', keySel), field('Provider', provSel), field('Model', model), field('Status', statusSel),
    h('div', { class: 'check' }, retries, h('label', { for: 'f-retries' }, 'Every attempt')),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'), autoRefresh(() => guard(load)));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); guard(load); });
  statusSel.addEventListener('change', render);
  add(root, h('h1', {}, 'Requests'),
    h('p', { class: 'muted' }, 'One row per request (its final attempt); open a request to see every attempt and why the gateway moved on.'),
    form, results);
  await load();
}

export async function requestDetail(root, id) {
  const [r, n] = await Promise.all([api('GET', '/ai/usage/requests/' + encodeURIComponent(id)), names()]);
  add(root, 
    h('p', {}, h('a', { href: '#/requests' }, '← All requests')),
    h('h1', {}, 'Request ', h('span', { class: 'mono' }, r.requestId)),
    h('dl', { class: 'stats' },
      stat('Outcome', r.outcome ? why(r.outcome) : 'in progress'),
      stat('Attempts', num(r.attempts.length)),
      stat('Cost of all attempts', usd(r.cost))),
    r.attempts.length ? null : h('p', { class: 'empty' }, 'No attempt recorded for this request.'),
    h('ol', { class: 'attempts', 'aria-label': 'Attempts in order' }, r.attempts.map((a) => h('li', { class: 'card attempt' },
      h('h2', {}, a.providerId ? `Attempt ${a.attempt}: ${a.providerId}:${a.model} ` : `Refused: ${a.model} `, statusBadge(a)),
      h('p', { class: 'why' }, why(a.retryAction)),
      a.error ? h('p', { class: 'error-text' }, a.error) : null,
      a.firewall && a.firewall.length ? h('div', { class: 'firewall' },
        h('h3', {}, 'Firewall decisions'),
        h('ul', {}, a.firewall.map((d) => h('li', {},
          h('span', { class: 'badge ' + (d.action === 'block' ? 'bad' : 'good') }, d.mode === 'dryRun' ? `${d.action} (dry run)` : d.action),
          ` ${d.phase} · policy ${d.policy}, rule ${d.rule}${d.ruleName ? ` “${d.ruleName}”` : ''}${d.tool ? ` · tool ${d.tool}` : ''}${d.message ? ` — ${d.message}` : ''}`)))) : null,
      h('dl', { class: 'grid' },
        stat('Started', when(a.timestamp)),
        stat('Access key', label(n.key, a.accessKeyId)),
        stat('Account', label(n.account, a.accountId)),
        stat('Key source', a.keySource + (a.providerKeyId ? ` (${a.providerKeyId})` : '')),
        stat('Endpoint', a.endpoint),
        stat('Streaming', a.streaming ? 'yes' : 'no'),
        stat('Stop reason', a.stopReason || '—'),
        stat('Input tokens', num(a.inputTokens)),
        stat('Output tokens', num(a.outputTokens)),
        stat('Cache read / write', `${num(a.cacheReadTokens)} / ${num(a.cacheWriteTokens)}`),
        stat('Reasoning tokens', num(a.reasoningTokens)),
        stat('Cost', usd(a.cost) + (a.usageEstimated ? ' (estimated)' : '')),
        stat('Fee', usd(a.fee)),
        stat('Latency', `${num(a.latencyMs)} ms`),
        stat('Time to first token', a.ttftMs ? `${num(a.ttftMs)} ms` : '—'))))));
}

// ---- Providers and models ----

export async function models(root) {
  const [provs, cat] = await Promise.all([api('GET', '/ai/providers'), api('GET', '/ai/models')]);
  // live metrics: every attempt of the last hour
  const to = new Date(Date.now() + 60e3);
  const q = new URLSearchParams({ from: new Date(to - 3600e3 - 60e3).toISOString(), to: to.toISOString(), includeRetries: 'true' });
  const events = await all('/ai/usage?' + q, 'usage', 10);
  const stats = new Map();
  for (const e of events) {
    const k = `${e.providerId}:${e.model}`;
    const s = stats.get(k) || { attempts: 0, failed: 0, latency: 0, ttft: 0, ttftN: 0 };
    s.attempts++;
    if (!(e.status >= 200 && e.status < 300)) s.failed++;
    s.latency += e.latencyMs || 0;
    if (e.ttftMs) { s.ttft += e.ttftMs; s.ttftN++; }
    stats.set(k, s);
  }
  const filter = h('input', { type: 'search', id: 'model-filter', placeholder: 'gpt-4o, anthropic, …', autocomplete: 'off' });
  const list = h('div', { id: 'model-list' });
  const price = (p) => (p ? usd(p) : '—');
  const renderModels = () => {
    const f = filter.value.trim().toLowerCase();
    const shown = cat.models.filter((m) => !f || m.id.toLowerCase().includes(f))
      .sort((a, b) => (stats.has(b.id) - stats.has(a.id)) || a.id.localeCompare(b.id));
    fill(list, table(`Models (${shown.length}); prices in USD per 1M tokens; live figures over the last hour`, [
      { label: 'Model', cell: (m) => h('span', { class: 'mono' }, m.id) },
      { label: 'Type', cell: (m) => m.type },
      { label: 'Input', num: true, cell: (m) => price(m.pricing.input) },
      { label: 'Output', num: true, cell: (m) => price(m.pricing.output) },
      { label: 'Cache read', num: true, cell: (m) => price(m.pricing.cacheRead) },
      { label: 'Context window', num: true, cell: (m) => (m.contextWindow ? num(m.contextWindow) : '—') },
      { label: 'Max output', num: true, cell: (m) => (m.maxOutputTokens ? num(m.maxOutputTokens) : '—') },
      { label: 'Attempts (1 h)', num: true, cell: (m) => num(stats.get(m.id)?.attempts || 0) },
      { label: 'Error rate', num: true, cell: (m) => { const s = stats.get(m.id); return s ? `${((100 * s.failed) / s.attempts).toFixed(1)} %` : '—'; } },
      { label: 'Avg latency', num: true, cell: (m) => { const s = stats.get(m.id); return s ? `${num(Math.round(s.latency / s.attempts))} ms` : '—'; } },
      { label: 'Avg TTFT', num: true, cell: (m) => { const s = stats.get(m.id); return s && s.ttftN ? `${num(Math.round(s.ttft / s.ttftN))} ms` : '—'; } },
    ], shown, 'No model matches.'));
  };
  filter.addEventListener('input', renderModels);
  add(root, h('h1', {}, 'Providers and models'),
    table('Providers', [
      { label: 'Provider', cell: (p) => h('span', { class: 'mono' }, p.providerId) },
      { label: 'Name', cell: (p) => p.name || '—' },
      { label: 'Format', cell: (p) => p.format },
      { label: 'Source', cell: (p) => p.source },
      { label: 'Managed keys', cell: (p) => (p.managedKeys ? 'yes' : 'no') },
      { label: 'Base URL', cell: (p) => h('span', { class: 'mono' }, p.baseUrl || '—') },
      { label: 'Models', num: true, cell: (p) => num(p.models.length) },
    ], provs.providers, 'No providers.'),
    h('h2', {}, 'Models'),
    field('Filter models', filter),
    list);
  renderModels();
}

// ---- Credits ----

export async function credits(root) {
  const n = await names();
  const accountSel = select('accountId', n.accounts.map((a) => [a.id, label(n.account, a.id)]), n.account.default ? 'default' : n.accounts[0]?.id);
  const balance = h('section', { 'aria-labelledby': 'balance-h' });
  const txs = h('section', { 'aria-labelledby': 'tx-h' });
  const settings = h('section', { 'aria-labelledby': 'settings-h' });
  let idempotencyKey = randomKey();

  async function loadBalance() {
    const b = await api('GET', '/ai/credits/balance?accountId=' + encodeURIComponent(accountSel.value));
    fill(balance, h('h2', { id: 'balance-h' }, 'Balance'),
      h('dl', { class: 'stats', id: 'balance' },
        stat('Balance', usd(b.balance)), stat('Held by requests in flight', usd(b.held)), stat('Available', usd(b.available)),
        stat('Next expiry', b.nextExpiry ? `${usd(b.nextExpiry.amount)} on ${when(b.nextExpiry.expiresAt)}` : '—')));
  }
  let rows = [];
  let next = null;
  function renderTxs() {
    fill(txs, h('h2', { id: 'tx-h' }, 'Transactions'),
      table('Ledger entries, newest first', [
        { label: 'Date', nowrap: true, cell: (e) => when(e.createdAt) },
        { label: 'Type', cell: (e) => e.type },
        { label: 'Amount', num: true, cell: (e) => usd(e.amount) },
        { label: 'Balance after', num: true, cell: (e) => usd(e.balanceAfter) },
        { label: 'For', cell: (e) => (e.requestId ? h('a', { href: '#/requests/' + encodeURIComponent(e.requestId) }, e.model ? `${e.providerId}:${e.model}` : e.requestId) : e.description || '—') },
      ], rows, 'No transactions yet.'),
      next ? h('button', { type: 'button', onClick: () => guard(async () => {
        const page = await api('GET', next);
        rows.push(...page.transactions);
        next = page.nextPageUri;
        renderTxs();
      }) }, 'Older transactions') : null);
  }
  async function loadTxs() {
    const page = await api('GET', '/ai/credits/transactions?limit=25&accountId=' + encodeURIComponent(accountSel.value));
    rows = page.transactions;
    next = page.nextPageUri;
    renderTxs();
  }
  async function loadSettings() {
    const c = await api('GET', '/ai/gateway-config');
    const thresholds = h('input', { type: 'text', id: 'f-thresholds', name: 'thresholds', value: (c.lowBalanceThresholds || []).join(', '), placeholder: 'e.g. 10.00, 1.00', autocomplete: 'off' });
    const webhook = h('input', { type: 'url', id: 'f-webhook', name: 'webhook', value: c.lowBalanceWebhook || '', placeholder: 'https://…', autocomplete: 'off' });
    const form = h('form', { class: 'card', id: 'low-balance-form' },
      field('Low-balance thresholds (USD, comma-separated)', thresholds, 'Empty: the Caddyfile\'s low_balance_thresholds.'),
      field('Low-balance webhook', webhook, 'Empty: the Caddyfile\'s low_balance_webhook.'),
      h('p', { class: 'muted' }, `Minimum purchase ${c.minPurchase ? usd(c.minPurchase) : 'from the Caddyfile'}, maximum ${c.maxPurchase ? usd(c.maxPurchase) : 'from the Caddyfile'}; credits last ${c.creditLifetime || 'as the Caddyfile says'}.`),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save low-balance settings')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      guard(async () => {
        const list = thresholds.value.split(',').map((s) => s.trim()).filter(Boolean);
        await api('PATCH', '/ai/gateway-config', {
          lowBalanceThresholds: list.length ? list : null,
          lowBalanceWebhook: webhook.value.trim() || null,
        });
        notice('Low-balance settings saved.');
      });
    });
    fill(settings, h('h2', { id: 'settings-h' }, 'Low-balance alerts'), form);
  }

  const amount = h('input', { type: 'text', id: 'f-amount', name: 'amount', inputmode: 'decimal', required: true, pattern: '[0-9]+(\\.[0-9]{1,9})?', placeholder: '25.00', autocomplete: 'off' });
  const description = h('input', { type: 'text', id: 'f-purchase-description', name: 'description', autocomplete: 'off' });
  const purchase = h('form', { class: 'card', id: 'purchase-form', 'aria-labelledby': 'purchase-h' },
    h('h2', { id: 'purchase-h' }, 'Buy credits'),
    field('Amount (USD)', amount), field('Description', description),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Buy credits')));
  purchase.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard(async () => {
      const p = await api('POST', '/ai/credits/purchases',
        { accountId: accountSel.value, amount: amount.value.trim(), description: description.value },
        { 'Idempotency-Key': idempotencyKey });
      idempotencyKey = randomKey();
      amount.value = '';
      description.value = '';
      notice(`Bought ${usd(p.amount)}; the balance is now ${usd(p.balanceAfter)}. The credits expire on ${when(p.expiresAt)}.`);
      await Promise.all([loadBalance(), loadTxs()]);
    });
  });
  // a new amount is a new purchase; a resubmitted one (double click, retry) is not
  amount.addEventListener('input', () => { idempotencyKey = randomKey(); });

  accountSel.addEventListener('change', () => guard(() => Promise.all([loadBalance(), loadTxs()])));
  add(root, h('h1', {}, 'Credits'), field('Account', accountSel),
    h('div', { class: 'two' }, balance, purchase), txs, settings);
  await Promise.all([loadBalance(), loadTxs(), loadSettings()]);
}
