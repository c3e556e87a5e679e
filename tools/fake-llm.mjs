#!/usr/bin/env node
// `npm run fake-llm [-- --port 4010] [--mode demo|echo|schema] [--script ./my-script.mjs]`: the test
// suite's fake LLM server, standalone, for demos without API keys (docs/llm.md). Node 24 runs the
// TypeScript source directly (type stripping). Modes: `demo` (default) answers every agent with
// add(a, b) in solution.*; `echo` writes the same into the file names the task mentions; `schema`
// calls the forced tool with arguments built from its JSON schema. A script module exports
// `handler(request)` returning a FakeReply (or undefined for the mode's answer).
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';
import { echoHandler, handler as demoHandler } from './fake-llm-demo.mjs';

const MODES = { demo: demoHandler, echo: echoHandler, schema: undefined };

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.FAKE_LLM_PORT ?? '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    mode: { type: 'string', default: 'demo' },
    script: { type: 'string' },
    'api-key': { type: 'string' },
  },
});

if (!Object.hasOwn(MODES, values.mode)) {
  process.stderr.write(`fake-llm: --mode must be one of ${Object.keys(MODES).join(', ')} (got ${values.mode})\n`);
  process.exit(2);
}
const modeHandler = MODES[values.mode];
const scriptHandler = values.script ? (await import(pathToFileURL(resolve(values.script)).href)).handler : undefined;
const handler = scriptHandler
  ? async (request) => (await scriptHandler(request)) ?? modeHandler?.(request)
  : modeHandler;
const fake = await startFakeLlm({ port: Number(values.port), host: values.host, apiKey: values['api-key'], handler });
process.stdout.write(
  [
    `fake LLM listening on ${fake.url} (mode ${values.mode}${values.script ? `, script ${values.script}` : ''})`,
    `  OPENAI_BASE_URL=${fake.openaiBaseUrl}`,
    `  ANTHROPIC_BASE_URL=${fake.anthropicBaseUrl}`,
    `  GOOGLE_BASE_URL=${fake.googleBaseUrl}`,
    `  LOCAL_LLM_BASE_URL=${fake.openaiBaseUrl}`,
    '',
  ].join('\n'),
);
const stop = async () => {
  await fake.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
