// The translation matrix with the official SDKs: every SDK surface
// (openai chat.completions.create, streamed and not; openai responses.create
// and responses.stream; @anthropic-ai/sdk messages.create and
// messages.stream; @google/genai models.generateContent and
// generateContentStream) against every upstream format, with plain text and
// with a function/tool call:
//   BASE=http://localhost:8080 KEY=cag_... TARGETS='[{"name":"anthropic","model":"anthropic:claude-haiku-4-5","provider":"anthropic"}]' node matrix-test.mjs
// Runs every cell (a failure does not stop the others) and prints one line
// `MATRIX_RESULT {json}` with each cell's outcome, its AI-Gateway-Request-Id
// and AI-Gateway-Provider (integration/sdk_matrix_test.go reads it and
// checks the usage recorded for each request); exits non-zero if a cell
// failed.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, Type } from '@google/genai';

const base = process.env.BASE;
const key = process.env.KEY;
const reply = process.env.REPLY ?? 'Hello from the fake provider! This is a streamed answer.';
const targets = JSON.parse(process.env.TARGETS ?? '[]');
assert.ok(base && key && targets.length, 'BASE, KEY and TARGETS must be set');

// Every SDK goes through this fetch, which notes the gateway's headers of
// the last answer (the cells run one at a time).
const realFetch = globalThis.fetch;
let last = {};
globalThis.fetch = async (...args) => {
  const r = await realFetch(...args);
  last = { provider: r.headers.get('ai-gateway-provider'), requestId: r.headers.get('ai-gateway-request-id') };
  return r;
};

const openai = new OpenAI({ apiKey: key, baseURL: base + '/v1', maxRetries: 0, timeout: 10_000 });
const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0, timeout: 10_000 });
const genai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: base, timeout: 10_000 } });

const weather = { name: 'get_weather', description: 'Weather in a city',
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } };
const chatTools = [{ type: 'function', function: weather }];
const responsesTools = [{ type: 'function', strict: false, ...weather }];
const anthropicTools = [{ name: weather.name, description: weather.description, input_schema: weather.parameters }];
const geminiTools = [{ functionDeclarations: [{ name: weather.name, description: weather.description,
  parameters: { type: Type.OBJECT, properties: { location: { type: Type.STRING } }, required: ['location'] } }] }];

const prompt = (tool) => (tool ? 'Weather in Paris?' : 'Say hello');

// checkCall: one call to get_weather whose arguments parse to {location: 'Paris'}.
function checkCall(calls, argsOf) {
  assert.equal(calls.length, 1, `want one tool call, got ${JSON.stringify(calls)}`);
  assert.equal(calls[0].name, 'get_weather');
  const args = argsOf(calls[0]);
  assert.deepEqual(typeof args === 'string' ? JSON.parse(args) : args, { location: 'Paris' });
}

// Each surface answers a cell (model, tool) and returns nothing or throws.
const surfaces = {
  'openai chat.completions.create': async (model, tool) => {
    const c = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: prompt(tool) }],
      ...(tool ? { tools: chatTools } : {}) });
    assert.equal(c.object, 'chat.completion');
    const m = c.choices[0].message;
    if (tool) {
      checkCall(m.tool_calls.map((t) => t.function), (f) => f.arguments);
      assert.ok(m.tool_calls[0].id, 'tool call without id');
      assert.equal(c.choices[0].finish_reason, 'tool_calls');
    } else {
      assert.equal(m.content, reply);
      assert.equal(c.choices[0].finish_reason, 'stop');
    }
    assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0, JSON.stringify(c.usage));
  },

  'openai chat.completions.create stream': async (model, tool) => {
    const stream = await openai.chat.completions.create({ model, stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: prompt(tool) }], ...(tool ? { tools: chatTools } : {}) });
    let text = '', finish, usage, chunks = 0;
    const calls = [];
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) {
        text += ch.delta?.content ?? '';
        for (const tc of ch.delta?.tool_calls ?? []) {
          if (!calls[tc.index]) calls[tc.index] = { id: tc.id, name: tc.function?.name ?? '', arguments: '' };
          calls[tc.index].arguments += tc.function?.arguments ?? '';
        }
        finish = ch.finish_reason ?? finish;
      }
    }
    assert.ok(chunks > 2, `only ${chunks} chunks`);
    if (tool) {
      checkCall(calls, (c) => c.arguments);
      assert.ok(calls[0].id, 'tool call without id');
      assert.equal(finish, 'tool_calls');
    } else {
      assert.equal(text, reply);
      assert.equal(finish, 'stop');
    }
    assert.ok(usage && usage.prompt_tokens > 0 && usage.completion_tokens > 0, 'no usage chunk');
  },

  'openai responses.create': async (model, tool) => {
    const r = await openai.responses.create({ model, instructions: 'Be brief.', input: prompt(tool),
      ...(tool ? { tools: responsesTools } : {}) });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    if (tool) {
      const calls = r.output.filter((o) => o.type === 'function_call');
      checkCall(calls, (c) => c.arguments);
      assert.ok(calls[0].call_id, 'function_call without call_id');
    } else {
      assert.equal(r.output_text, reply);
    }
    assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0, JSON.stringify(r.usage));
  },

  'openai responses.stream': async (model, tool) => {
    const stream = openai.responses.stream({ model, input: [{ role: 'user', content: [{ type: 'input_text', text: prompt(tool) }] }],
      ...(tool ? { tools: responsesTools } : {}) });
    let deltas = '', args = '', completed = false;
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    stream.on('response.function_call_arguments.delta', (e) => { args = e.snapshot; });
    stream.on('response.completed', () => { completed = true; });
    const final = await stream.finalResponse();
    assert.ok(completed, 'no response.completed');
    assert.equal(final.status, 'completed');
    if (tool) {
      const calls = final.output.filter((o) => o.type === 'function_call');
      checkCall(calls, (c) => c.arguments);
      assert.equal(calls[0].arguments, args, 'arguments differ from their deltas');
    } else {
      assert.equal(deltas, reply);
      assert.equal(final.output_text, reply);
    }
    assert.ok(final.usage.input_tokens > 0 && final.usage.output_tokens > 0, JSON.stringify(final.usage));
  },

  'anthropic messages.create': async (model, tool) => {
    const m = await anthropic.messages.create({ model, max_tokens: 256, system: 'Be brief.',
      messages: [{ role: 'user', content: prompt(tool) }], ...(tool ? { tools: anthropicTools } : {}) });
    assert.equal(m.type, 'message');
    if (tool) {
      const calls = m.content.filter((b) => b.type === 'tool_use');
      checkCall(calls, (b) => b.input);
      assert.ok(calls[0].id, 'tool_use without id');
      assert.equal(m.stop_reason, 'tool_use');
    } else {
      assert.equal(m.content.map((b) => b.text).join(''), reply);
      assert.equal(m.stop_reason, 'end_turn');
    }
    assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));
  },

  'anthropic messages.stream': async (model, tool) => {
    const stream = anthropic.messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: prompt(tool) }],
      ...(tool ? { tools: anthropicTools } : {}) });
    let text = '', json = '';
    stream.on('text', (d) => { text += d; });
    stream.on('inputJson', (d) => { json += d; });
    const m = await stream.finalMessage();
    if (tool) {
      const calls = m.content.filter((b) => b.type === 'tool_use');
      checkCall(calls, (b) => b.input);
      assert.deepEqual(JSON.parse(json), calls[0].input, 'input differs from its deltas');
      assert.equal(m.stop_reason, 'tool_use');
    } else {
      assert.equal(text, reply);
      assert.equal(m.content.map((b) => b.text).join(''), reply);
      assert.equal(m.stop_reason, 'end_turn');
    }
    assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));
  },

  'genai models.generateContent': async (model, tool) => {
    const r = await genai.models.generateContent({ model, contents: prompt(tool),
      config: { systemInstruction: 'Be brief.', maxOutputTokens: 256, ...(tool ? { tools: geminiTools } : {}) } });
    if (tool) {
      checkCall(r.functionCalls ?? [], (c) => c.args);
    } else {
      assert.equal(r.text, reply);
    }
    assert.equal(r.candidates[0].finishReason, 'STOP');
    assert.ok(r.usageMetadata.promptTokenCount > 0 && r.usageMetadata.candidatesTokenCount > 0, JSON.stringify(r.usageMetadata));
  },

  'genai models.generateContentStream': async (model, tool) => {
    const stream = await genai.models.generateContentStream({ model, contents: prompt(tool),
      config: { ...(tool ? { tools: geminiTools } : {}) } });
    let text = '', finish, usage, chunks = 0;
    const calls = [];
    for await (const chunk of stream) {
      chunks++;
      text += chunk.text ?? '';
      calls.push(...(chunk.functionCalls ?? []));
      usage = chunk.usageMetadata ?? usage;
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
    if (tool) {
      checkCall(calls, (c) => c.args);
    } else {
      assert.equal(text, reply);
      assert.ok(chunks > 2, `only ${chunks} chunks: not streamed`);
    }
    assert.equal(finish, 'STOP');
    assert.ok(usage && usage.promptTokenCount > 0 && usage.candidatesTokenCount > 0, 'no usage');
  },
};

const cells = [];
const began = Date.now();
for (const [surface, run] of Object.entries(surfaces)) {
  for (const target of targets) {
    for (const tool of [false, true]) {
      const cell = { surface, target: target.name, kind: tool ? 'tool' : 'text', ok: false };
      last = {};
      const t0 = Date.now();
      try {
        await run(target.model, tool);
        assert.equal(last.provider, target.provider, 'AI-Gateway-Provider');
        cell.ok = true;
      } catch (err) {
        const at = String(err?.stack ?? '').split('\n').find((l) => l.includes('matrix-test.mjs')) ?? '';
        cell.error = (String(err?.message ?? err) + ' ' + at.trim()).replace(/\s*\n\s*/g, ' | ');
      }
      cell.ms = Date.now() - t0;
      cell.provider = last.provider ?? '';
      cell.requestId = last.requestId ?? '';
      cells.push(cell);
      console.log(cell.ok ? 'ok  ' : 'FAIL', `${surface} × ${target.name} × ${cell.kind}`, cell.ok ? '' : cell.error);
    }
  }
}
console.log('MATRIX_RESULT ' + JSON.stringify({ ms: Date.now() - began, cells }));
process.exit(cells.every((c) => c.ok) ? 0 : 1);
