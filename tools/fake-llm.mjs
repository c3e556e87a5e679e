#!/usr/bin/env node
// `npm run fake-llm [-- --port 4010] [--script ./my-script.mjs]`: the test suite's fake LLM server,
// standalone, for demos without API keys (docs/llm.md). Node 24 runs the TypeScript source directly
// (type stripping). A script module may export `handler(request)` returning a FakeReply.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.FAKE_LLM_PORT ?? '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    script: { type: 'string' },
    'api-key': { type: 'string' },
  },
});

const handler = values.script ? (await import(pathToFileURL(resolve(values.script)).href)).handler : undefined;
const fake = await startFakeLlm({ port: Number(values.port), host: values.host, apiKey: values['api-key'], handler });
process.stdout.write(
  [
    `fake LLM listening on ${fake.url}`,
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
