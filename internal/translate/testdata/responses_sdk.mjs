// Runs Responses API event streams (SSE files) through the official openai
// npm SDK's stream helper, client.responses.stream(), as a client of the
// gateway would, with a fetch that answers each file's bytes. Prints what
// the helper accumulated, one JSON object per file, for
// TestResponsesStreamOpenAISDK. OPENAI_SDK_DIR is a directory whose
// node_modules holds the openai package (examples/sdk).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const sdk = path.join(process.env.OPENAI_SDK_DIR, 'node_modules', 'openai', 'index.mjs');
const { default: OpenAI } = await import(pathToFileURL(sdk).href);

const results = [];
for (const file of process.argv.slice(2)) {
  const body = readFileSync(file);
  const client = new OpenAI({
    apiKey: 'unused',
    baseURL: 'http://gateway.invalid/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  const stream = client.responses.stream({ model: 'm', input: 'x' });
  let snapshot = '';
  let argsSnapshot = '';
  stream.on('response.output_text.delta', (e) => { snapshot = e.snapshot; });
  stream.on('response.function_call_arguments.delta', (e) => { argsSnapshot = e.snapshot; });
  const types = [];
  for await (const ev of stream) types.push(ev.type);
  const final = await stream.finalResponse();
  results.push({
    file: path.basename(file),
    events: types.length,
    status: final.status,
    incomplete: final.incomplete_details?.reason ?? '',
    error: final.error?.code ?? '',
    output_text: final.output_text,
    snapshot,
    args_snapshot: argsSnapshot,
    reasoning: final.output.filter((o) => o.type === 'reasoning').map((o) => o.summary.map((s) => s.text).join('')).join(''),
    calls: final.output.filter((o) => o.type === 'function_call').map((o) => ({ call_id: o.call_id, name: o.name, arguments: o.arguments })),
    usage: final.usage ?? null,
  });
}
console.log(JSON.stringify(results));
