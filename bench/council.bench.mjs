/**
 * Council wall time: three judges whose model answers after 200 ms each, against one judge, in the
 * same run. The judges really run in parallel (a LangGraph fan-out), so the ratio stays near 1
 * (target ≤ 1.3). The model is a local HTTP server answering OpenAI-style tool calls after a delay;
 * the council service is the built one (dist/), with in-memory records and run hooks.
 */
import { createServer } from 'node:http';
import { CouncilReviewerService } from '../dist/src/council/council-reviewer.service.js';
import { CouncilLlm } from '../dist/src/council/council-llm.port.js';
import { DEFAULT_AGGREGATION } from '../dist/src/council/aggregate.js';

const DELAY_MS = 200;
const ROUNDS = 5;

function startModel() {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const agent = JSON.parse(body).agent;
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            choices: [
              {
                finish_reason: 'tool_calls',
                message: {
                  tool_calls: [
                    {
                      id: `call-${agent}`,
                      type: 'function',
                      function: { name: 'submit_review', arguments: JSON.stringify({ verdict: 'APPROVE', summary: `${agent}: fine`, score: 9, issues: [] }) },
                    },
                  ],
                },
              },
            ],
            usage: { prompt_tokens: 800, completion_tokens: 60 },
          }),
        );
      }, DELAY_MS);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

class HttpJudgeLlm extends CouncilLlm {
  constructor(url) {
    super();
    this.url = url;
  }
  async call(request) {
    const started = performance.now();
    const res = await fetch(this.url, { method: 'POST', body: JSON.stringify({ agent: request.context.agent, messages: request.messages }), signal: request.signal });
    const json = await res.json();
    const message = json.choices[0].message;
    return {
      text: '',
      toolCalls: message.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: JSON.parse(c.function.arguments) })),
      usage: { inputTokens: json.usage.prompt_tokens, outputTokens: json.usage.completion_tokens, cachedInputTokens: 0 },
      costUsd: '0.00016',
      finishReason: 'tool_calls',
      latencyMs: performance.now() - started,
      provider: 'openai',
      model: 'gpt-4o-mini',
    };
  }
  resolveModel() {
    return { provider: 'openai', model: 'gpt-4o-mini' };
  }
  worstCaseUsd() {
    return '0.01';
  }
}

const records = {
  saveJudgeReview: async () => {},
  saveVerdict: async () => {},
  previousFingerprint: async () => undefined,
  spentInRun: async () => '0',
  latestVerdict: async () => null,
};
const hooks = {
  startStep: async () => ({ stepId: 'step' }),
  finishStep: async () => {},
  emit: async () => {},
};
const config = {
  get: () => ({
    enabledByDefault: true,
    judges: ['security', 'performance', 'maintainability'],
    aggregation: DEFAULT_AGGREGATION,
    stuckDetection: false,
    judgeMaxTokens: 1024,
    maxCostUsd: undefined,
  }),
};

function request(judges, round) {
  return {
    userId: 'bench',
    taskId: 'bench',
    runId: `bench-${judges.length}-${round}`,
    iteration: 1,
    mode: 'review',
    language: 'typescript',
    title: 'Bench',
    description: 'Review this function.',
    files: [{ path: 'src/sum.ts', content: 'export function sum(xs: number[]): number {\n  return xs.reduce((a, b) => a + b, 0);\n}\n' }],
    judges,
    signal: new AbortController().signal,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const server = await startModel();
  const url = `http://127.0.0.1:${server.address().port}/v1/chat/completions`;
  const service = new CouncilReviewerService(new HttpJudgeLlm(url), records, config);
  try {
    await service.review(request(['security'], -1), hooks); // warm-up: module JIT, connection pool
    const one = [];
    const three = [];
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      const a = await service.review(request(['security'], round), hooks);
      one.push(performance.now() - started);
      started = performance.now();
      const b = await service.review(request(['security', 'performance', 'maintainability'], round), hooks);
      three.push(performance.now() - started);
      if (a.verdict !== 'APPROVE' || b.council.judges.length !== 3) throw new Error('council bench: unexpected outcome');
    }
    const baseline = median(one);
    const value = median(three);
    return [
      { scenario: `council: 1 judge, model ${DELAY_MS} ms (median of ${ROUNDS})`, metric: 'wall ms', value: Math.round(baseline) },
      {
        scenario: `council: 3 judges in parallel, model ${DELAY_MS} ms each (median of ${ROUNDS})`,
        metric: 'wall ms',
        value: Math.round(value),
        baseline: Math.round(baseline),
        ratio: Math.round((value / baseline) * 100) / 100,
        target: '≤ 1.3',
      },
    ];
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
