// The grown-up gateway (issue 16), against the fake LLM server:
//  - a 20-turn tool loop with Anthropic-style prompt caching: its cost (what the gateway prices from
//    the usage the provider reports) with the provider caching ÷ the same 20 requests to a provider
//    that does not cache. Target ≤ 0.35. The fake server caches as Anthropic does (prefixes up to
//    the `cache_control` breakpoints the gateway places) and the price table follows Anthropic's
//    ratios (cache write 1.25 × input, cache read 0.1 × input).
//  - the routing decision (the gateway's route planning: admin controls, candidates' cost estimate
//    and p95 latency, circuit state, context windows) for a route with two candidates: p99 ≤ 0.1 ms.
// Gateway ÷ bare SDK throughput is in llm-gateway.bench.mjs.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';
import { gatewayContext } from './support/gateway-context.mjs';

const TURNS = 20;
const DECISIONS = Number(process.env.BENCH_ROUTING_DECISIONS ?? 20_000);
const MODEL = 'anthropic:claude-sonnet-4-6';

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

const TOOLS = ['read_file', 'search', 'edit_file', 'write_files'].map((name) => ({
  name,
  description: `The ${name} tool. ${'It works on the workspace. '.repeat(6)}`,
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
}));
// About 2,500 tokens of stable instructions and a task, then one tool round per turn.
const SYSTEM = `You are the coder. ${'Follow the repository conventions carefully. '.repeat(220)}`;
const TASK = `Task: fix the ledger rounding. Repository instructions: ${'Use two spaces. '.repeat(100)}`;
function conversation(rounds) {
  const messages = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: TASK },
  ];
  for (let i = 0; i < rounds; i++) {
    messages.push({
      role: 'assistant',
      content: '',
      toolCalls: [{ id: `call_${i}`, name: 'read_file', arguments: { path: `src/file${i}.ts` } }],
    });
    messages.push({
      role: 'tool',
      toolCallId: `call_${i}`,
      name: 'read_file',
      content: `${i}: ${'export const x = 1;\n'.repeat(60)}`,
    });
  }
  return messages;
}

/** The gateway context with Anthropic by default and the coder's route Anthropic, then OpenAI. */
async function routingContext(ctx, fake) {
  const context = await gatewayContext(ctx, fake, {
    name: 'route',
    env: {
      ANTHROPIC_API_KEY: 'sk-ant-bench',
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      DEFAULT_MODEL: MODEL,
      AGENT_MODELS: `coder=${MODEL}|openai:gpt-4o`,
    },
  });
  const { LatencyTrackerService } = await import('../dist/src/agents/llm/latency-tracker.service.js');
  return { ...context, latency: context.app.get(LatencyTrackerService), userId: await context.user() };
}

/** The 20 model calls of one tool loop; the sum of their priced costs (USD) and of their usage. */
async function toolLoopCost(ctx, promptCache) {
  const fake = await startFakeLlm({ promptCache });
  fake.script(() => ({ toolCalls: [{ name: 'read_file', arguments: { path: 'src/next.ts' } }], usage: undefined }));
  const context = await routingContext(ctx, fake);
  try {
    const runId = randomUUID();
    let cost = 0;
    const usage = { input: 0, cached: 0, written: 0 };
    for (let turn = 0; turn < TURNS; turn++) {
      const result = await context.gateway.call({
        context: { userId: context.userId, agent: 'coder', runId },
        model: MODEL,
        messages: conversation(turn),
        tools: TOOLS,
        toolChoice: 'required',
      });
      cost += Number(result.costUsd);
      usage.input += result.usage.inputTokens;
      usage.cached += result.usage.cachedInputTokens;
      usage.written += result.usage.cacheWriteTokens ?? 0;
    }
    return { cost, usage };
  } finally {
    await context.close();
    await fake.close();
  }
}

/** Route planning for a two-candidate route, timed one decision at a time. */
async function routingDecisions(ctx) {
  const fake = await startFakeLlm();
  const context = await routingContext(ctx, fake);
  try {
    // Both candidates have a latency history (a full window each), so the score weighs p95 too.
    for (let i = 0; i < 200; i++) {
      context.latency.record('anthropic', 'claude-sonnet-4-6', 900 + (i % 50) * 10);
      context.latency.record('openai', 'gpt-4o', 400 + (i % 50) * 20);
    }
    const plan = (request) => context.gateway['plan'](request, 4096);
    const requests = [
      { label: 'a task prompt', messages: conversation(0) },
      { label: `a ${TURNS}-turn tool loop`, messages: conversation(TURNS) },
    ].map(({ label, messages }) => ({
      label,
      request: {
        context: { userId: context.userId, agent: 'coder' },
        messages,
        tools: TOOLS,
        toolChoice: 'required',
        latencySloMs: 1_000,
      },
    }));
    const rows = [];
    for (const { label, request } of requests) {
      for (let i = 0; i < 2_000; i++) await plan(request); // JIT, the controls' first load
      const times = [];
      let chosen;
      for (let i = 0; i < DECISIONS; i++) {
        const started = performance.now();
        const { decision } = await plan(request);
        times.push(performance.now() - started);
        chosen = decision.chosen;
      }
      rows.push({ label, times, chosen });
    }
    return rows;
  } finally {
    await context.close();
    await fake.close();
  }
}

export async function run(ctx) {
  const cached = await toolLoopCost(ctx, true);
  const uncached = await toolLoopCost(ctx, false);
  if (cached.usage.cached === 0) throw new Error('the caching run read nothing from the cache');
  const ratio = cached.cost / uncached.cost;
  const decisions = await routingDecisions(ctx);
  const round4 = (n) => Math.round(n * 10_000) / 10_000;
  const s = 'gateway: prompt caching';
  return [
    {
      scenario: s,
      metric: `${TURNS}-turn tool loop (${MODEL}) cost USD, provider caching ÷ not caching`,
      value: round4(cached.cost),
      baseline: round4(uncached.cost),
      ratio: Math.round(ratio * 1000) / 1000,
      target: '≤ 0.35',
      pass: ratio <= 0.35,
    },
    {
      scenario: s,
      metric: 'prompt tokens of the 20 calls: all / read from cache / written to cache',
      value: `${cached.usage.input} / ${cached.usage.cached} / ${cached.usage.written}`,
    },
    ...decisions.flatMap(({ label, times, chosen }) => [
      {
        scenario: 'gateway: routing decision (2 candidates, SLO 1 s)',
        metric: `p99 ms per decision, ${label} (${times.length} decisions; chose ${chosen})`,
        value: round4(percentile(times, 99)),
        target: '≤ 0.1',
        pass: percentile(times, 99) <= 0.1,
      },
      {
        scenario: 'gateway: routing decision (2 candidates, SLO 1 s)',
        metric: `p50 ms per decision, ${label}`,
        value: round4(percentile(times, 50)),
      },
    ]),
  ];
}

// Standalone: `npm run build && node --experimental-transform-types bench/gateway-routing.bench.mjs`.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await run());
}
