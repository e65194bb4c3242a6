// The managing pages: Access keys, Configurations, Provider keys, Virtual models.
import {
  api, fill, add, all, h, table, field, select, notice, guard, dialog, confirmDialog, when, names, label, short,
} from './lib.js';

// tokenPanel shows a new token once, with a way to copy it.
function tokenPanel(title, token) {
  const input = h('input', { type: 'text', id: 'new-token', readonly: true, value: token, class: 'mono', 'aria-describedby': 'new-token-note' });
  const copy = h('button', { type: 'button', onClick: async () => {
    try {
      await navigator.clipboard.writeText(token);
      copy.textContent = 'Copied';
    } catch {
      input.select();
      copy.textContent = 'Press Ctrl+C to copy';
    }
  } }, 'Copy');
  const panel = h('section', { class: 'card token', id: 'token-panel', role: 'status', 'aria-labelledby': 'token-h' },
    h('h2', { id: 'token-h' }, title),
    h('p', { id: 'new-token-note' }, 'Copy this token now: it is shown only this once.'),
    h('div', { class: 'inline' }, field('Token', input), copy),
    h('button', { type: 'button', onClick: () => panel.remove() }, 'Done'));
  return panel;
}

function actions(...buttons) {
  return h('div', { class: 'row-actions' }, buttons);
}

// ---- Access keys ----

export async function accessKeys(root) {
  const n = await names();
  const name = h('input', { type: 'text', name: 'name', id: 'f-key-name', required: true, autocomplete: 'off' });
  const description = h('input', { type: 'text', name: 'description', id: 'f-key-description', autocomplete: 'off' });
  const account = select('accountId', n.accounts.map((a) => [a.id, label(n.account, a.id)]), n.account.default ? 'default' : undefined);
  const config = select('accessKeyConfigurationId', [['', 'None: every provider and model, managed keys'], ...n.configs.map((c) => [c.id, label(n.config, c.id)])], '');
  const expires = h('input', { type: 'datetime-local', name: 'expiresAt', id: 'f-key-expires' });
  const tokenSlot = h('div');
  const form = h('form', { class: 'card', id: 'create-key-form', 'aria-labelledby': 'create-key-h' },
    h('h2', { id: 'create-key-h' }, 'Create an access key'),
    h('div', { class: 'fields' }, field('Name', name), field('Description', description), field('Account', account),
      field('Configuration', config), field('Expires (optional)', expires)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create access key')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard(async () => {
      const body = { name: name.value.trim(), description: description.value, accountId: account.value };
      if (config.value) body.accessKeyConfigurationId = config.value;
      if (expires.value) body.expiresAt = new Date(expires.value).toISOString();
      const k = await api('POST', '/ai/access-keys', body);
      form.reset();
      await renderList();
      fill(tokenSlot, tokenPanel(`Access key "${k.name}" created`, k.token));
      document.getElementById('new-token').focus();
    });
  });

  const list = h('section', { 'aria-label': 'Access keys', id: 'key-list' });
  async function renderList() {
    const keys = await all('/ai/access-keys', 'accessKeys');
    const state = (k) => {
      if (k.disabled) return h('span', { class: 'badge bad' }, 'disabled');
      if (k.expiresAt && new Date(k.expiresAt) < new Date()) return h('span', { class: 'badge bad' }, 'expired');
      return h('span', { class: 'badge good' }, 'active');
    };
    fill(list, table('Access keys, newest first', [
      { label: 'Name', cell: (k) => k.name || '—' },
      { label: 'Key', cell: (k) => h('span', { class: 'mono' }, k.keyRedacted) },
      { label: 'Status', cell: (k) => [state(k), k.previousTokenValidUntil ? h('small', {}, ` old token valid until ${when(k.previousTokenValidUntil)}`) : null] },
      { label: 'Account', cell: (k) => short(n.account, k.accountId) },
      { label: 'Configuration', cell: (k) => short(n.config, k.accessKeyConfigurationId) },
      { label: 'Expires', cell: (k) => when(k.expiresAt) },
      { label: 'Last used', nowrap: true, cell: (k) => when(k.lastUsed) },
      { label: 'Actions', cell: (k) => actions(
        h('button', { type: 'button', onClick: () => guard(async () => {
          await api('PATCH', '/ai/access-keys/' + k.id, { disabled: !k.disabled });
          notice(`Access key "${k.name}" ${k.disabled ? 'enabled' : 'disabled'}.`);
          await renderList();
        }) }, k.disabled ? 'Enable' : 'Disable', h('span', { class: 'sr' }, ' ' + k.name)),
        h('button', { type: 'button', onClick: () => guard(async () => {
          const grace = select('gracePeriod', [['', 'Stop the old token now'], ['1h', 'Keep it working 1 hour'], ['24h', 'Keep it working 24 hours'], ['168h', 'Keep it working 7 days']], '');
          const fd = await dialog(`Rotate "${k.name}"`, [h('p', {}, 'A new token replaces the old one.'), field('Old token', grace)], 'Rotate');
          if (!fd) return;
          const body = fd.get('gracePeriod') ? { gracePeriod: fd.get('gracePeriod') } : {};
          const r = await api('POST', `/ai/access-keys/${k.id}/rotate`, body);
          await renderList();
          fill(tokenSlot, tokenPanel(`Access key "${r.name}" rotated`, r.token));
          document.getElementById('new-token').focus();
        }) }, 'Rotate', h('span', { class: 'sr' }, ' ' + k.name)),
        h('button', { type: 'button', class: 'danger', onClick: () => guard(async () => {
          if (!(await confirmDialog(`Delete access key "${k.name}"? Requests with its token will be refused.`))) return;
          await api('DELETE', '/ai/access-keys/' + k.id);
          notice(`Access key "${k.name}" deleted.`);
          await renderList();
        }) }, 'Delete', h('span', { class: 'sr' }, ' ' + k.name))) },
    ], keys, 'No access keys yet: create one above.'));
  }
  add(root, h('h1', {}, 'Access keys'),
    h('p', { class: 'muted' }, 'Clients send an access key as their API key. Its account pays; its configuration limits what it may use.'),
    tokenSlot, form, list);
  await renderList();
}

// ---- Configurations ----

const configTemplate = {
  access: { providers: { allow: null }, models: { allow: null } },
  router: { rules: [] },
  modelSelection: [],
  limits: { requestsPerMinute: null, tokensPerMinute: null, spendPerDay: null },
};

// configJSON is the editable part of a configuration.
function configJSON(c) {
  const pick = c ? { access: c.access, router: c.router, modelSelection: c.modelSelection, limits: c.limits || null } : configTemplate;
  return JSON.stringify(pick, null, 2);
}

export async function configurations(root) {
  const editor = h('div', { id: 'config-editor' });
  const list = h('section', { 'aria-label': 'Configurations', id: 'config-list' });

  function edit(c) {
    const name = h('input', { type: 'text', id: 'f-config-name', name: 'name', value: c ? c.name : '', required: true, autocomplete: 'off' });
    const description = h('input', { type: 'text', id: 'f-config-description', name: 'description', value: c ? c.description : '', autocomplete: 'off' });
    const json = h('textarea', { id: 'f-config-json', name: 'json', rows: 16, spellcheck: 'false', class: 'mono', value: configJSON(c) });
    const form = h('form', { class: 'card', 'aria-labelledby': 'config-form-h' },
      h('h2', { id: 'config-form-h' }, c ? `Edit "${c.name}"` : 'New configuration'),
      h('div', { class: 'fields' }, field('Name', name), field('Description', description)),
      field('Access, routing, model selection and limits (JSON)', json,
        'access.providers.allow / access.models.allow: lists ("gpt-4o", "openai:gpt-4o"); null: unrestricted, []: nothing. '
        + 'router.rules: [{provider?, model?, steps: [{type: "managed"|"user", keys: ["pk_…"]}]}]. '
        + 'modelSelection: CEL expressions or cheapest, fastest, most_reliable. '
        + 'limits: requestsPerMinute, tokensPerMinute, spendPerDay (USD string); null: none.'),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, c ? 'Save configuration' : 'Create configuration'),
        h('button', { type: 'button', onClick: () => fill(editor) }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      guard(async () => {
        let parsed;
        try {
          parsed = JSON.parse(json.value);
        } catch (e) {
          throw new Error('The JSON does not parse: ' + e.message);
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('The JSON must be an object.');
        const body = { ...parsed, name: name.value.trim(), description: description.value };
        if (c) await api('PATCH', '/ai/access-key-configurations/' + c.id, body);
        else await api('POST', '/ai/access-key-configurations', body);
        notice(`Configuration "${body.name}" saved.`);
        fill(editor);
        await renderList();
      });
    });
    fill(editor, form);
    name.focus();
  }

  const allow = (l) => (!l || l.allow === null || l.allow === undefined ? 'any' : l.allow.length ? l.allow.join(', ') : 'none');
  async function renderList() {
    const configs = await all('/ai/access-key-configurations', 'accessKeyConfigurations');
    fill(list, table('Access key configurations, newest first', [
      { label: 'Name', cell: (c) => c.name || '—' },
      { label: 'ID', cell: (c) => h('span', { class: 'mono' }, c.id) },
      { label: 'Providers', cell: (c) => allow(c.access && c.access.providers) },
      { label: 'Models', cell: (c) => allow(c.access && c.access.models) },
      { label: 'Routing', cell: (c) => (c.router.rules || []).map((r) => `${r.model || r.provider || '*'}: ${r.steps.map((s) => s.type).join(' → ')}`).join('; ') || 'managed keys' },
      { label: 'Model selection', cell: (c) => (c.modelSelection.length ? c.modelSelection.join(' | ') : 'site default') },
      { label: 'Limits', cell: (c) => {
        const l = c.limits || {};
        const parts = [l.requestsPerMinute != null && `${l.requestsPerMinute} req/min`, l.tokensPerMinute != null && `${l.tokensPerMinute} tokens/min`, l.spendPerDay != null && `$${l.spendPerDay}/day`].filter(Boolean);
        return parts.join(', ') || 'none';
      } },
      { label: 'Actions', cell: (c) => actions(
        h('button', { type: 'button', onClick: () => edit(c) }, 'Edit', h('span', { class: 'sr' }, ' ' + c.name)),
        h('button', { type: 'button', class: 'danger', onClick: () => guard(async () => {
          if (!(await confirmDialog(`Delete configuration "${c.name}"? It is refused while an access key uses it.`))) return;
          await api('DELETE', '/ai/access-key-configurations/' + c.id);
          notice(`Configuration "${c.name}" deleted.`);
          await renderList();
        }) }, 'Delete', h('span', { class: 'sr' }, ' ' + c.name))) },
    ], configs, 'No configurations: access keys without one may use every provider and model with the managed keys.'));
  }
  add(root, h('h1', {}, 'Configurations'),
    h('p', { class: 'muted' }, 'A configuration scopes the access keys that use it: allowed providers and models, routing to managed or customer (BYOK) provider keys, model selection and limits.'),
    h('button', { type: 'button', class: 'primary', id: 'new-config', onClick: () => edit(null) }, 'New configuration'),
    editor, list);
  await renderList();
}

// ---- Provider keys ----

export async function providerKeys(root) {
  const [n, provs] = await Promise.all([names(), api('GET', '/ai/providers')]);
  const provider = select('providerId', provs.providers.map((p) => [p.providerId, `${p.providerId}${p.name ? ' (' + p.name + ')' : ''}`]), provs.providers[0]?.providerId);
  const name = h('input', { type: 'text', name: 'name', id: 'f-pk-name', autocomplete: 'off' });
  const account = select('accountId', n.accounts.map((a) => [a.id, label(n.account, a.id)]), n.account.default ? 'default' : undefined);
  const value = h('input', { type: 'password', name: 'value', id: 'f-pk-value', required: true, autocomplete: 'off' });
  const form = h('form', { class: 'card', id: 'create-provider-key-form', 'aria-labelledby': 'pk-h' },
    h('h2', { id: 'pk-h' }, 'Add a provider key'),
    h('div', { class: 'fields' }, field('Provider', provider), field('Name', name), field('Account', account, 'Whose key it is; cannot be changed later.'), field('Secret', value, 'Stored encrypted; never shown again.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add provider key')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard(async () => {
      const body = { providerId: provider.value, name: name.value.trim(), value: value.value };
      if (account.value) body.accountId = account.value;
      const k = await api('POST', '/ai/provider-keys', body);
      form.reset();
      notice(`Provider key "${k.name || k.id}" added (${k.keyRedacted}).`);
      await renderList();
    });
  });
  const list = h('section', { 'aria-label': 'Provider keys', id: 'provider-key-list' });
  async function renderList() {
    const keys = await all('/ai/provider-keys', 'providerKeys');
    fill(list, table('Provider keys, newest first', [
      { label: 'Provider', cell: (k) => k.providerId },
      { label: 'Name', cell: (k) => k.name || '—' },
      { label: 'Key', cell: (k) => h('span', { class: 'mono' }, k.keyRedacted) },
      { label: 'ID', cell: (k) => h('span', { class: 'mono' }, k.id) },
      { label: 'Account', cell: (k) => short(n.account, k.accountId) },
      { label: 'Last used', nowrap: true, cell: (k) => when(k.lastUsed) },
      { label: 'Actions', cell: (k) => actions(
        h('button', { type: 'button', onClick: () => guard(async () => {
          const secret = h('input', { type: 'password', name: 'value', id: 'f-rotate-value', required: true, autocomplete: 'off' });
          const fd = await dialog(`Rotate "${k.name || k.id}"`, [h('p', {}, 'The new secret replaces the old one; the key keeps its id, so routing rules still find it.'), field('New secret', secret)], 'Rotate');
          if (!fd) return;
          const r = await api('POST', `/ai/provider-keys/${k.id}/rotate`, { value: fd.get('value') });
          notice(`Provider key "${r.name || r.id}" rotated (${r.keyRedacted}).`);
          await renderList();
        }) }, 'Rotate', h('span', { class: 'sr' }, ' ' + (k.name || k.id))),
        h('button', { type: 'button', class: 'danger', onClick: () => guard(async () => {
          if (!(await confirmDialog(`Delete provider key "${k.name || k.id}"?`))) return;
          await api('DELETE', '/ai/provider-keys/' + k.id);
          notice('Provider key deleted.');
          await renderList();
        }) }, 'Delete', h('span', { class: 'sr' }, ' ' + (k.name || k.id)))) },
    ], keys, 'No stored provider keys: the gateway uses the keys of the Caddyfile.'));
  }
  add(root, h('h1', {}, 'Provider keys'),
    h('p', { class: 'muted' }, 'Keys for upstream providers: the operator\'s, or a customer\'s own (BYOK, with an account) for routing rules of type "user". Only a masked form is ever shown.'),
    form, list);
  await renderList();
}

// ---- Virtual models ----

export async function virtualModels(root) {
  const editor = h('div', { id: 'vm-editor' });
  const list = h('section', { 'aria-label': 'Virtual models', id: 'vm-list' });
  function edit(vm) {
    const name = h('input', { type: 'text', id: 'f-vm-name', name: 'name', value: vm ? vm.name : '', required: true, autocomplete: 'off' });
    const description = h('input', { type: 'text', id: 'f-vm-description', name: 'description', value: vm ? vm.description : '', autocomplete: 'off' });
    const models = h('textarea', { id: 'f-vm-models', name: 'models', rows: 6, class: 'mono', spellcheck: 'false', value: vm ? vm.models.join('\n') : '' });
    const form = h('form', { class: 'card', 'aria-labelledby': 'vm-form-h' },
      h('h2', { id: 'vm-form-h' }, vm ? `Edit "${vm.name}"` : 'New virtual model'),
      h('div', { class: 'fields' }, field('Name', name, 'Clients ask for this name as their model.'), field('Description', description)),
      field('Models, in order (one per line, up to 10)', models, 'e.g. openai:gpt-4o-mini, then anthropic:claude-3-5-haiku-latest: the next is tried when one fails.'),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, vm ? 'Save virtual model' : 'Create virtual model'),
        h('button', { type: 'button', onClick: () => fill(editor) }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      guard(async () => {
        const body = { name: name.value.trim(), description: description.value, models: models.value.split('\n').map((s) => s.trim()).filter(Boolean) };
        if (vm) await api('PATCH', '/ai/virtual-models/' + vm.id, body);
        else await api('POST', '/ai/virtual-models', body);
        notice(`Virtual model "${body.name}" saved.`);
        fill(editor);
        await renderList();
      });
    });
    fill(editor, form);
    name.focus();
  }
  async function renderList() {
    const vms = await all('/ai/virtual-models', 'virtualModels');
    fill(list, table('Virtual models, newest first', [
      { label: 'Name', cell: (v) => h('span', { class: 'mono' }, v.name) },
      { label: 'Models, in order', cell: (v) => h('ol', { class: 'compact' }, v.models.map((m) => h('li', { class: 'mono' }, m))) },
      { label: 'Description', cell: (v) => v.description || '—' },
      { label: 'Updated', cell: (v) => when(v.updatedAt) },
      { label: 'Actions', cell: (v) => actions(
        h('button', { type: 'button', onClick: () => edit(v) }, 'Edit', h('span', { class: 'sr' }, ' ' + v.name)),
        h('button', { type: 'button', class: 'danger', onClick: () => guard(async () => {
          if (!(await confirmDialog(`Delete virtual model "${v.name}"?`))) return;
          await api('DELETE', '/ai/virtual-models/' + v.id);
          notice(`Virtual model "${v.name}" deleted.`);
          await renderList();
        }) }, 'Delete', h('span', { class: 'sr' }, ' ' + v.name))) },
    ], vms, 'No virtual models yet.'));
  }
  add(root, h('h1', {}, 'Virtual models'),
    h('p', { class: 'muted' }, 'A virtual model is a name for an ordered list of models: a request for it tries them in order.'),
    h('button', { type: 'button', class: 'primary', id: 'new-vm', onClick: () => edit(null) }, 'New virtual model'),
    editor, list);
  await renderList();
}
