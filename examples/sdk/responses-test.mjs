// Drives the gateway's /v1/responses with the official openai SDK, for
// models served in every upstream format (translated or passed through):
//   BASE=http://localhost:8080 KEY=cag_... MODELS=claude-sonnet-4-6,gpt-4o node responses-test.mjs
// STATELESS lists the models whose provider keeps no responses (a
// previous_response_id must get a 400 saying so); RESPONSES_ONLY the
// Responses-only models, which the chat and Anthropic SDKs reach too.
// Exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.BASE;
const key = process.env.KEY;
const reply = process.env.REPLY ?? 'Hello from the fake provider! This is a streamed answer.';
const models = (process.env.MODELS ?? '').split(',').filter(Boolean);
const stateless = new Set((process.env.STATELESS ?? '').split(',').filter(Boolean));
const responsesOnly = (process.env.RESPONSES_ONLY ?? '').split(',').filter(Boolean);
assert.ok(base && key && models.length, 'BASE, KEY and MODELS must be set');

const openai = new OpenAI({ apiKey: key, baseURL: base + '/v1', maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
const tools = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', strict: false,
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }];
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

for (const model of models) {
  await check(`${model}: responses.create`, async () => {
    const r = await openai.responses.create({ model, instructions: 'Be brief.', input: 'Say hello' });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, reply);
    assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
  });

  await check(`${model}: responses.stream`, async () => {
    const stream = openai.responses.stream({ model, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say hello' }] }] });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    const final = await stream.finalResponse();
    assert.equal(deltas, reply);
    assert.equal(final.output_text, reply);
    assert.equal(final.status, 'completed');
    assert.ok(final.usage.output_tokens > 0);
  });

  let call;
  await check(`${model}: a tool call, streamed`, async () => {
    const stream = openai.responses.stream({ model, input: 'Weather in Paris?', tools });
    let args = '';
    stream.on('response.function_call_arguments.delta', (e) => { args = e.snapshot; });
    const final = await stream.finalResponse();
    call = final.output.find((o) => o.type === 'function_call');
    assert.ok(call, JSON.stringify(final.output));
    assert.equal(call.name, 'get_weather');
    assert.equal(call.arguments, args);
    JSON.parse(call.arguments);
    assert.ok(call.call_id);
  });

  await check(`${model}: the tool's output sent back`, async () => {
    const r = await openai.responses.create({ model, tools, input: [
      { role: 'user', content: 'Weather in Paris?' },
      { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' },
    ] });
    assert.equal(r.output_text, reply);
  });

  if (stateless.has(model)) {
    await check(`${model}: previous_response_id is refused with the reason`, async () => {
      await assert.rejects(openai.responses.create({ model, previous_response_id: 'resp_123', input: 'And then?' }), (err) => {
        assert.equal(err.status, 400);
        assert.match(err.message, /previous_response_id needs a provider that keeps responses \(OpenAI\)/);
        return true;
      });
    });
  }
}
for (const model of responsesOnly) {
  await check(`${model}: chat.completions.stream with a tool`, async () => {
    const stream = openai.chat.completions.stream({ model, messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: tools[0].name, parameters: tools[0].parameters } }] });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    JSON.parse(call.function.arguments);
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
  });

  await check(`${model}: chat.completions.create`, async () => {
    const c = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Say hello' }] });
    assert.equal(c.choices[0].message.content, reply);
    assert.ok(c.usage.completion_tokens > 0);
  });

  await check(`${model}: anthropic messages.stream`, async () => {
    const stream = anthropic.messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] });
    const final = await stream.finalMessage();
    assert.equal(final.content[0].text, reply);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0);
  });
}
console.log(`Responses SDK checks passed (${passed})`);
