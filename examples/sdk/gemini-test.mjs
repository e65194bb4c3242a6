// Drives the gateway with Google's official Gen AI SDK (@google/genai), as
// a user would, against an OpenAI-format, an Anthropic-format and a
// Gemini-format provider:
//   BASE=http://localhost:8080 KEY=cag_... node gemini-test.mjs
// Exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import { GoogleGenAI, Type } from '@google/genai';

const base = process.env.BASE;
const key = process.env.KEY;
const reply = process.env.REPLY ?? 'Hello from the fake provider! This is a streamed answer.';
assert.ok(base && key, 'BASE and KEY must be set');

const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: base } });
const weather = {
  functionDeclarations: [{
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: Type.OBJECT, properties: { location: { type: Type.STRING } }, required: ['location'] },
  }],
};
const targets = [
  ['openai', 'openai:gpt-4o'],
  ['anthropic', 'anthropic:claude-haiku-4-5'],
  ['google', 'gemini-2.5-flash'],
];
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

for (const [provider, model] of targets) {
  await check(`${provider}: generateContent`, async () => {
    const r = await ai.models.generateContent({ model, contents: 'Say hello', config: { maxOutputTokens: 64, temperature: 0.5 } });
    assert.equal(r.text, reply);
    assert.equal(r.candidates[0].finishReason, 'STOP');
    assert.ok(r.usageMetadata.promptTokenCount > 0 && r.usageMetadata.candidatesTokenCount > 0, JSON.stringify(r.usageMetadata));
    assert.equal(r.sdkHttpResponse.headers['ai-gateway-provider'], provider);
  });

  await check(`${provider}: generateContentStream`, async () => {
    const stream = await ai.models.generateContentStream({ model, contents: 'Say hello', config: { systemInstruction: 'Be brief.' } });
    let text = '', chunks = 0, usage, finish;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.text ?? '';
      usage = chunk.usageMetadata ?? usage;
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
    assert.equal(text, reply);
    assert.ok(chunks > 2, `only ${chunks} chunks: not streamed`);
    assert.equal(finish, 'STOP');
    assert.ok(usage && usage.candidatesTokenCount > 0, 'no usage');
  });

  await check(`${provider}: function call round trip`, async () => {
    const question = { role: 'user', parts: [{ text: 'Weather in Paris?' }] };
    const first = await ai.models.generateContent({ model, contents: [question], config: { tools: [weather] } });
    const call = first.functionCalls?.[0];
    assert.ok(call, 'no function call: ' + JSON.stringify(first.candidates));
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(call.args, { location: 'Paris' });
    const answer = { role: 'user', parts: [{ functionResponse: { id: call.id, name: call.name, response: { result: 'sunny, 22°C' } } }] };
    const second = await ai.models.generateContent({ model, contents: [question, first.candidates[0].content, answer], config: { tools: [weather] } });
    assert.equal(second.text, reply);
  });

  await check(`${provider}: streamed function call`, async () => {
    const stream = await ai.models.generateContentStream({ model, contents: 'Weather in Paris?', config: { tools: [weather] } });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].args, { location: 'Paris' });
  });

  await check(`${provider}: countTokens`, async () => {
    const r = await ai.models.countTokens({ model, contents: 'How many tokens is this?' });
    assert.ok(r.totalTokens > 0, JSON.stringify(r));
  });
}

await check('models.list', async () => {
  const names = [];
  for await (const m of await ai.models.list()) names.push(m.name);
  for (const want of ['models/openai:gpt-4o', 'models/anthropic:claude-haiku-4-5', 'models/google:gemini-2.5-flash']) {
    assert.ok(names.includes(want), `${want} not in ${names}`);
  }
});

await check('models.get', async () => {
  const m = await ai.models.get({ model: 'google:gemini-2.5-flash' });
  assert.equal(m.name, 'models/google:gemini-2.5-flash');
  assert.ok(m.inputTokenLimit > 0);
});

await check('a wrong key is a 401 ApiError', async () => {
  const bad = new GoogleGenAI({ apiKey: 'cag_wrong', httpOptions: { baseUrl: base } });
  await assert.rejects(bad.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }), (err) => {
    assert.equal(err.status, 401);
    assert.match(err.message, /invalid access key/);
    return true;
  });
});

console.log(`Gemini SDK checks passed (${passed})`);
