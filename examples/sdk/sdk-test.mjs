// Drives the gateway with the official SDKs, as a user would:
//   BASE=http://localhost:8080 KEY=cag_... node sdk-test.mjs
// Exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.BASE;
const key = process.env.KEY;
const reply = process.env.REPLY ?? 'Hello from the fake provider! This is a streamed answer.';
assert.ok(base && key, 'BASE and KEY must be set');

const openai = new OpenAI({ apiKey: key, baseURL: base + '/v1', maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
const anthropicBearer = new Anthropic({ apiKey: null, authToken: key, baseURL: base, maxRetries: 0 });
const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } } };
const messages = [{ role: 'user', content: 'Say hello' }];
let passed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log('ok  ', name);
  } catch (err) {
    console.error('FAIL', name, err);
    process.exit(1);
  }
}

await check('openai chat', async () => {
  const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
  assert.equal(data.choices[0].message.content, reply);
  assert.equal(response.headers.get('ai-gateway-provider'), 'openai');
  assert.ok(response.headers.get('ai-gateway-request-id'));
  assert.ok(data.usage.completion_tokens > 0);
});

await check('openai chat stream (for await)', async () => {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
  let text = '';
  for await (const chunk of stream) {
    assert.ok(chunk.choices.length > 0, 'usage-only chunk leaked to a client that did not ask');
    text += chunk.choices[0].delta?.content ?? '';
  }
  assert.equal(text, reply);
});

await check('openai chat stream with include_usage', async () => {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
  let usage;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.ok(usage && usage.completion_tokens > 0, 'no usage chunk');
});

await check('openai chat stream helper with tools', async () => {
  const final = await openai.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool] }).finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { location: 'Paris' });
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

await check('openai responses', async () => {
  const r = await openai.responses.create({ model: 'gpt-4o', input: 'Say hello' });
  assert.equal(r.output_text, reply);
});

await check('openai responses stream helper', async () => {
  const s = openai.responses.stream({ model: 'gpt-4o', input: 'Say hello' });
  let deltas = 0;
  s.on('response.output_text.delta', () => deltas++);
  const r = await s.finalResponse();
  assert.equal(r.output_text, reply);
  assert.ok(deltas > 1);
});

await check('openai embeddings', async () => {
  const e = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
  assert.equal(e.data.length, 2);
  assert.ok(e.data[0].embedding.length > 0);
});

await check('openai models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.ok(ids.includes('openai:gpt-4o-mini'), ids.join(','));
});

await check('openai bad key is an AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'cag_not_a_key', baseURL: base + '/v1', maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'gpt-4o-mini', messages }), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError);
    assert.equal(err.code, 'invalid_access_key');
    return true;
  });
});

await check('openai unknown model is a 422', async () => {
  await assert.rejects(openai.chat.completions.create({ model: 'no-such-model', messages }), (err) => {
    assert.equal(err.status, 422);
    assert.equal(err.code, 'no_matching_models');
    return true;
  });
});

await check('anthropic messages', async () => {
  const m = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages });
  assert.equal(m.content[0].text, reply);
  assert.equal(m.stop_reason, 'end_turn');
});

await check('anthropic messages with Bearer auth', async () => {
  const m = await anthropicBearer.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages });
  assert.equal(m.content[0].text, reply);
});

await check('anthropic stream helper', async () => {
  const s = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 256, messages });
  let text = '';
  s.on('text', (t) => { text += t; });
  const m = await s.finalMessage();
  assert.equal(text, reply);
  assert.ok(m.usage.output_tokens > 0);
});

await check('anthropic raw stream', async () => {
  const stream = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages, stream: true });
  const types = [];
  for await (const ev of stream) types.push(ev.type);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
});

await check('anthropic tools stream', async () => {
  const m = await anthropic.messages.stream({
    model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
  }).finalMessage();
  const tool = m.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(tool.input, { location: 'Paris' });
  assert.equal(m.stop_reason, 'tool_use');
});

await check('anthropic count_tokens', async () => {
  const c = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', messages });
  assert.ok(c.input_tokens > 0);
});

await check('anthropic bad key is an AuthenticationError', async () => {
  const bad = new Anthropic({ apiKey: 'cag_not_a_key', baseURL: base, maxRetries: 0 });
  await assert.rejects(bad.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages }), (err) => {
    assert.ok(err instanceof Anthropic.AuthenticationError);
    assert.equal(err.error.type, 'error');
    return true;
  });
});

// --- Cross-format: each SDK served by a provider of the other format ---

await check('openai SDK → Anthropic provider (chat)', async () => {
  const { data, response } = await openai.chat.completions.create({ model: 'anthropic:claude-haiku-4-5', messages }).withResponse();
  assert.equal(data.choices[0].message.content, reply);
  assert.equal(data.object, 'chat.completion');
  assert.equal(response.headers.get('ai-gateway-provider'), 'anthropic');
  assert.ok(data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
});

await check('openai SDK → Anthropic provider (stream helper, tools)', async () => {
  const final = await openai.chat.completions.stream({ model: 'anthropic:claude-haiku-4-5', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool] }).finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { location: 'Paris' });
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

await check('openai SDK → Anthropic provider (stream text)', async () => {
  const stream = await openai.chat.completions.create({ model: 'anthropic:claude-haiku-4-5', messages, stream: true, stream_options: { include_usage: true } });
  let text = ''; let usage;
  for await (const chunk of stream) { text += chunk.choices[0]?.delta?.content ?? ''; if (chunk.usage) usage = chunk.usage; }
  assert.equal(text, reply);
  assert.ok(usage && usage.completion_tokens > 0);
});

await check('Anthropic SDK → OpenAI provider (messages)', async () => {
  const m = await anthropic.messages.create({ model: 'openai:gpt-4o-mini', max_tokens: 256, system: 'Be brief.', messages });
  assert.equal(m.type, 'message');
  assert.equal(m.content[0].text, reply);
  assert.equal(m.stop_reason, 'end_turn');
});

await check('Anthropic SDK → OpenAI provider (stream helper, tools)', async () => {
  const m = await anthropic.messages.stream({
    model: 'openai:gpt-4o-mini', max_tokens: 256, messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
  }).finalMessage();
  const tool = m.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(tool.input, { location: 'Paris' });
  assert.equal(m.stop_reason, 'tool_use');
});

await check('Anthropic SDK → OpenAI provider (stream text)', async () => {
  const s = anthropic.messages.stream({ model: 'openai:gpt-4o-mini', max_tokens: 256, messages });
  let text = '';
  s.on('text', (t) => { text += t; });
  const m = await s.finalMessage();
  assert.equal(text, reply);
  assert.ok(m.usage.output_tokens > 0);
});

// --- Stalled streams continued on the next candidate (the harness makes
// gpt-4.1-mini and claude-opus-4-6 stall after a few events) ---

await check('openai stream helper reads a continued stream whole', async () => {
  const s = openai.chat.completions.stream({ model: 'openai:gpt-4.1-mini', models: ['openai:gpt-4o-mini'], messages });
  let text = '';
  s.on('content', (d) => { text += d; });
  const final = await s.finalChatCompletion();
  assert.equal(text, reply);
  assert.equal(final.choices[0].message.content, reply);
});

await check('anthropic stream helper reads a continued stream whole', async () => {
  const s = anthropic.messages.stream({ model: 'anthropic:claude-opus-4-6', models: ['anthropic:claude-haiku-4-5'], max_tokens: 256, messages });
  let text = '';
  s.on('text', (t) => { text += t; });
  const m = await s.finalMessage();
  assert.equal(text, reply);
  assert.equal(m.content[0].text, reply);
});

// --- The failing-OpenAI scenario: auto, OpenAI down, Anthropic healthy ---

if (process.env.FAILOVER_KEY) {
  await check('auto stream survives a failing OpenAI provider', async () => {
    const client = new OpenAI({ apiKey: process.env.FAILOVER_KEY, baseURL: base + '/v1', maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'auto', messages, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, reply);
    assert.equal(response.headers.get('ai-gateway-provider'), 'anthropic');
    assert.equal(response.headers.get('ai-gateway-attempts'), '2');
    console.log('     request', response.headers.get('ai-gateway-request-id'), 'served by',
      response.headers.get('ai-gateway-provider') + ':' + response.headers.get('ai-gateway-model'),
      'after', response.headers.get('ai-gateway-attempts'), 'attempts');
  });
}

console.log(`all ${passed} SDK checks passed`);
