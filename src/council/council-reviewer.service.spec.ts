import type { ConfigService } from '@nestjs/config';
import type { JudgeVerdict, ReviewHooks, ReviewRequest } from '#src/agents/graph/review.port.js';
import type { LlmCallRequest, LlmResult } from '#src/agents/llm/llm.types.js';
import { CancelledRunError } from '#src/agents/graph/graph.errors.js';
import { DomainError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { DEFAULT_AGGREGATION, type AggregateResult } from './aggregate.js';
import { CouncilLlm, type ResolvedModel } from './council-llm.port.js';
import type { CouncilRecordsService, RunScope } from './council-records.service.js';
import { CouncilReviewerService } from './council-reviewer.service.js';
import type { IterationFingerprint } from './stuck.js';

type Answer = Partial<LlmResult> | Error | ((req: LlmCallRequest) => Promise<Partial<LlmResult>>);

class ScriptedLlm extends CouncilLlm {
  readonly calls: LlmCallRequest[] = [];
  constructor(private readonly script: Record<string, Answer[]>) {
    super();
  }
  async call(request: LlmCallRequest): Promise<LlmResult> {
    this.calls.push(request);
    const queue = this.script[request.context.agent] ?? [];
    const answer = queue.length > 1 ? queue.shift()! : queue[0];
    if (!answer) throw new Error(`no script for ${request.context.agent}`);
    if (answer instanceof Error) throw answer;
    const partial = typeof answer === 'function' ? await answer(request) : answer;
    return {
      text: '',
      toolCalls: [],
      usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 0 },
      costUsd: '0.001',
      finishReason: 'tool_calls',
      latencyMs: 1,
      provider: 'openai',
      model: 'gpt-4o-mini',
      ...partial,
    };
  }
  resolveModel(agent: string, override?: string): ResolvedModel {
    const [provider, model] = (override ?? 'openai:gpt-4o-mini').split(':');
    return { provider, model: `${model}` + (agent === 'judge.security' ? '' : '') };
  }
  worstCaseUsd(): string {
    return '0.004';
  }
}

const review = (verdict: string, issues: unknown[] = [], score?: number): Partial<LlmResult> => ({
  toolCalls: [
    {
      id: 'c1',
      name: 'submit_review',
      arguments: { verdict, summary: `${verdict} summary`, issues, ...(score !== undefined ? { score } : {}) },
    },
  ],
});

class MemoryRecords {
  judges: (JudgeVerdict & RunScope & { filesHash: string })[] = [];
  verdicts: {
    scope: RunScope;
    result: AggregateResult;
    fingerprint: IterationFingerprint;
    stuck?: string;
    cost: string;
  }[] = [];
  async saveJudgeReview(scope: RunScope, judge: JudgeVerdict, extra: { filesHash: string }) {
    this.judges = this.judges.filter(
      (j) => !(j.runId === scope.runId && j.iteration === scope.iteration && j.judge === judge.judge),
    );
    this.judges.push({ ...scope, ...judge, filesHash: extra.filesHash });
  }
  async answeredJudges(runId: string, iteration: number, filesHash: string) {
    return this.judges.filter(
      (j) => j.runId === runId && j.iteration === iteration && j.filesHash === filesHash && j.status === 'completed',
    );
  }
  async saveVerdict(
    scope: RunScope,
    result: AggregateResult,
    fingerprint: IterationFingerprint,
    stuck: string | undefined,
    cost: string,
  ) {
    this.verdicts.push({ scope, result, fingerprint, stuck, cost });
  }
  async previousFingerprint(_runId: string, iteration: number) {
    const prior = this.verdicts.filter((v) => v.scope.iteration < iteration).at(-1);
    return prior?.fingerprint;
  }
  async spentInRun() {
    return '0';
  }
  async latestVerdict() {
    const last = this.verdicts.at(-1);
    return last
      ? { iteration: last.scope.iteration, issues: last.result.issues, score: last.result.score ?? null }
      : null;
  }
}

function recordingHooks() {
  const steps: { agent: string; outcome?: Parameters<ReviewHooks['finishStep']>[1] }[] = [];
  const events: { type: string; data: Record<string, unknown> }[] = [];
  const hooks: ReviewHooks = {
    startStep: async (agent) => {
      steps.push({ agent });
      return { stepId: String(steps.length - 1) };
    },
    finishStep: async (step, outcome) => {
      steps[Number(step.stepId)].outcome = outcome;
    },
    emit: async (type, data) => {
      events.push({ type, data });
    },
  };
  return { hooks, steps, events };
}

function setup(script: Record<string, Answer[]>, council: Partial<AllConfig['council']> = {}, stepTimeoutMs = 5_000) {
  const llm = new ScriptedLlm(script);
  const records = new MemoryRecords();
  const config = {
    get: (ns: string) =>
      ns === 'agents'
        ? { stepTimeoutMs }
        : {
            enabledByDefault: true,
            judges: ['security', 'performance', 'maintainability'],
            aggregation: DEFAULT_AGGREGATION,
            stuckDetection: true,
            judgeMaxTokens: 1000,
            maxCostUsd: undefined,
            ...council,
          },
  } as unknown as ConfigService<AllConfig, true>;
  const service = new CouncilReviewerService(llm, records as unknown as CouncilRecordsService, config);
  return { service, llm, records };
}

function request(overrides: Partial<ReviewRequest> = {}): ReviewRequest {
  return {
    userId: 'u',
    taskId: 't',
    runId: 'r',
    iteration: 1,
    mode: 'build',
    language: 'typescript',
    title: 'Add',
    description: 'add numbers',
    files: [{ path: 'add.ts', content: 'export const add = (a: number, b: number) => a + b;' }],
    tests: { passed: 2, failed: 0, output: 'ok' },
    judges: ['security', 'performance', 'maintainability'],
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe('CouncilReviewerService', () => {
  it('runs the judges in parallel, one step each, and approves 2-1 with visible dissent', async () => {
    const timeline: string[] = [];
    const slow = (verdict: string) => async (req: LlmCallRequest) => {
      timeline.push(`start ${req.context.agent}`);
      await new Promise((r) => setTimeout(r, 50));
      timeline.push(`end ${req.context.agent}`);
      return review(verdict, [], 8);
    };
    const { service, llm, records } = setup({
      'judge.security': [slow('APPROVE')],
      'judge.performance': [slow('REVISE')],
      'judge.maintainability': [slow('APPROVE')],
    });
    const { hooks, steps, events } = recordingHooks();
    const outcome = await service.review(request(), hooks);
    // Parallel: every judge has started before the first one finishes.
    expect(timeline.slice(0, 3).every((t) => t.startsWith('start'))).toBe(true);
    expect(outcome).toMatchObject({
      verdict: 'APPROVE',
      score: 8,
      council: { verdict: 'APPROVE', reason: 'MAJORITY' },
    });
    expect(outcome.council!.judges.map((j) => [j.judge, j.verdict])).toEqual([
      ['security', 'APPROVE'],
      ['performance', 'REVISE'],
      ['maintainability', 'APPROVE'],
    ]);
    expect(steps.map((s) => [s.agent, s.outcome?.status, s.outcome?.costUsd])).toEqual(
      expect.arrayContaining([
        ['judge.security', 'completed', '0.001'],
        ['judge.performance', 'completed', '0.001'],
        ['judge.maintainability', 'completed', '0.001'],
      ]),
    );
    expect(llm.calls.map((c) => c.toolChoice)).toEqual([
      { name: 'submit_review' },
      { name: 'submit_review' },
      { name: 'submit_review' },
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'council.completed',
      data: { verdict: 'APPROVE', dissent: [{ judge: 'performance', verdict: 'REVISE' }], costUsd: '0.003' },
    });
    expect(records.judges).toHaveLength(3);
    expect(records.verdicts[0].cost).toBe('0.00300000');
  });

  it('retries a judge once with a corrective message when the tool call is missing', async () => {
    const { service, llm } = setup({
      'judge.security': [{ text: 'Looks fine to me', toolCalls: [] }, review('APPROVE')],
      'judge.performance': [review('APPROVE')],
      'judge.maintainability': [{ text: 'hmm' }, { text: 'still prose' }],
    });
    const { hooks, steps } = recordingHooks();
    const outcome = await service.review(request(), hooks);
    expect(outcome.verdict).toBe('APPROVE');
    const security = llm.calls.filter((c) => c.context.agent === 'judge.security');
    expect(security).toHaveLength(2);
    expect(security[1].messages.at(-1)).toMatchObject({
      role: 'user',
      content: expect.stringContaining('submit_review'),
    });
    const maintainability = outcome.council!.judges.find((j) => j.judge === 'maintainability')!;
    expect(maintainability).toMatchObject({
      status: 'failed',
      costUsd: '0.002',
      error: expect.stringContaining('INVALID_TOOL_CALL'),
    });
    expect(steps.find((s) => s.agent === 'judge.security')!.outcome).toMatchObject({
      usage: { inputTokens: 200, outputTokens: 40 },
      costUsd: '0.002',
    });
  });

  it('keeps the other verdicts when a judge fails after the gateway retries', async () => {
    const { service } = setup({
      'judge.security': [new DomainError('LLM_UNAVAILABLE', 'provider answered 500', 502)],
      'judge.performance': [review('APPROVE')],
      'judge.maintainability': [review('APPROVE')],
    });
    const { hooks, steps, events } = recordingHooks();
    const outcome = await service.review(request(), hooks);
    expect(outcome.verdict).toBe('APPROVE');
    expect(outcome.council!.judges.find((j) => j.judge === 'security')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('LLM_UNAVAILABLE'),
    });
    expect(steps.find((s) => s.agent === 'judge.security')!.outcome!.status).toBe('failed');
    expect(events[0].data.summary as string).toContain('Not voting: security failed');
  });

  it('fails a hanging judge alone at the step timeout', async () => {
    const hang = (req: LlmCallRequest) =>
      new Promise<Partial<LlmResult>>((_resolve, reject) =>
        req.signal!.addEventListener('abort', () => reject(new DomainError('LLM_ABORTED', 'aborted', 499))),
      );
    const { service } = setup(
      {
        'judge.security': [hang],
        'judge.performance': [review('APPROVE')],
        'judge.maintainability': [review('APPROVE')],
      },
      {},
      100,
    );
    const outcome = await service.review(request(), recordingHooks().hooks);
    expect(outcome.verdict).toBe('APPROVE');
    expect(outcome.council!.judges[0]).toMatchObject({ judge: 'security', status: 'failed' });
  });

  it('lets a cancelled run abort the whole council', async () => {
    const controller = new AbortController();
    const hang = (req: LlmCallRequest) =>
      new Promise<Partial<LlmResult>>((_resolve, reject) =>
        req.signal!.addEventListener('abort', () => reject(new DomainError('LLM_ABORTED', 'aborted', 499))),
      );
    const { service, records } = setup({ 'judge.security': [hang], 'judge.performance': [hang] });
    const pending = service.review(
      request({ judges: ['security', 'performance'], signal: controller.signal }),
      recordingHooks().hooks,
    );
    setTimeout(() => controller.abort(new CancelledRunError()), 20);
    await expect(pending).rejects.toBeInstanceOf(CancelledRunError);
    expect(records.verdicts).toHaveLength(0);
  });

  it('re-asks only the judges that did not answer when an iteration is reviewed again (worker crash)', async () => {
    const { service, llm } = setup({
      'judge.security': [new DomainError('LLM_UNAVAILABLE', 'down', 502), review('APPROVE', [], 9)],
      'judge.performance': [review('REVISE', [], 6)],
      'judge.maintainability': [review('APPROVE', [], 8)],
    });
    expect((await service.review(request(), recordingHooks().hooks)).council!.reason).toBe('TIE');
    const again = recordingHooks();
    const outcome = await service.review(request(), again.hooks);
    expect(llm.calls.map((c) => c.context.agent)).toEqual([
      'judge.security',
      'judge.performance',
      'judge.maintainability',
      'judge.security',
    ]);
    expect(again.steps.map((s) => s.agent)).toEqual(['judge.security']);
    expect(outcome).toMatchObject({ verdict: 'APPROVE', score: 7.7 });
    expect(outcome.council!.judges.map((j) => `${j.judge}:${j.verdict}`)).toEqual([
      'security:APPROVE',
      'performance:REVISE',
      'maintainability:APPROVE',
    ]);
    // Other files are another review: everybody is asked.
    await service.review(request({ files: [{ path: 'add.ts', content: 'other' }] }), recordingHooks().hooks);
    expect(llm.calls).toHaveLength(7);
  });

  it('vetoes on a critical security finding, merging duplicate issues most severe first', async () => {
    const sqli = { severity: 'critical', file: 'add.ts', line: 1, message: 'SQL injection via string concatenation' };
    const { service } = setup({
      'judge.security': [review('APPROVE', [sqli])],
      'judge.performance': [review('APPROVE', [{ severity: 'info', file: 'add.ts', line: 1, message: 'fine' }])],
      'judge.maintainability': [
        review('APPROVE', [{ ...sqli, severity: 'warning', message: 'sql injection via string concatenation!' }]),
      ],
    });
    const outcome = await service.review(request(), recordingHooks().hooks);
    expect(outcome).toMatchObject({ verdict: 'REVISE', council: { reason: 'VETO' } });
    expect(outcome.issues[0]).toMatchObject({ severity: 'critical', judges: ['security', 'maintainability'] });
    expect(outcome.issues).toHaveLength(2);
  });

  it('stops as STUCK when the next iteration brings the same findings, and skips judges on the same files', async () => {
    const issue = { severity: 'warning', file: 'add.ts', line: 1, message: 'Validate inputs' };
    const { service, llm, records } = setup({
      'judge.security': [review('REVISE', [issue])],
      'judge.performance': [review('REVISE', [issue])],
      'judge.maintainability': [review('APPROVE')],
    });
    expect((await service.review(request(), recordingHooks().hooks)).verdict).toBe('REVISE');
    const secondHooks = recordingHooks();
    await expect(
      service.review(request({ iteration: 2, files: [{ path: 'add.ts', content: 'changed' }] }), secondHooks.hooks),
    ).rejects.toMatchObject({
      code: 'STUCK',
      message: expect.stringContaining('the same findings as iteration 1'),
    });
    expect(records.verdicts[1]).toMatchObject({
      stuck: 'SAME_FINDINGS',
      result: { verdict: 'REJECT', reason: 'STUCK' },
    });
    expect(secondHooks.events[0]).toMatchObject({
      type: 'council.completed',
      data: { verdict: 'REJECT', reason: 'STUCK' },
    });

    const callsBefore = llm.calls.length;
    const { hooks, steps } = recordingHooks();
    await expect(
      service.review(request({ iteration: 3, files: [{ path: 'add.ts', content: 'changed' }] }), hooks),
    ).rejects.toMatchObject({
      code: 'STUCK',
      message: expect.stringContaining('the same files as iteration 2'),
    });
    expect(llm.calls.length).toBe(callsBefore);
    expect(records.verdicts[2]).toMatchObject({
      stuck: 'SAME_FILES',
      result: { issues: [expect.objectContaining({ message: 'Validate inputs' })] },
    });
    expect(steps.every((s) => s.outcome?.status === 'skipped')).toBe(true);
  });

  it('skips judges over the cost cap and records why', async () => {
    const { service, llm } = setup({
      'judge.security': [review('APPROVE')],
      'judge.performance': [review('APPROVE')],
      'judge.maintainability': [review('APPROVE')],
    });
    const { hooks, events } = recordingHooks();
    const outcome = await service.review(request({ councilMaxCostUsd: '0.009' }), hooks);
    expect(llm.calls.map((c) => c.context.agent)).toEqual(['judge.security', 'judge.performance']);
    expect(outcome.council!.judges[2]).toMatchObject({
      judge: 'maintainability',
      status: 'skipped',
      summary: expect.stringContaining('cost cap'),
    });
    expect((events[0].data.judges as { status: string }[]).map((j) => j.status)).toEqual([
      'completed',
      'completed',
      'skipped',
    ]);
  });

  it("routes every judge's call against the task's latencySloMs", async () => {
    const { service, llm } = setup({ 'judge.security': [review('APPROVE')], 'judge.performance': [review('APPROVE')] });
    await service.review(request({ judges: ['security', 'performance'], latencySloMs: 1200 }), recordingHooks().hooks);
    expect(Object.fromEntries(llm.calls.map((c) => [c.context.agent, c.latencySloMs]))).toEqual({
      'judge.security': 1200,
      'judge.performance': 1200,
    });
    expect(llm.calls).toHaveLength(2);
  });

  it('routes judge models through per-task overrides', async () => {
    const { service, llm } = setup({ 'judge.security': [review('APPROVE')], 'judge.performance': [review('APPROVE')] });
    await service.review(
      request({
        judges: ['security', 'performance'],
        models: { judge: 'openai:gpt-4o', 'judge.security': 'anthropic:claude' },
      }),
      recordingHooks().hooks,
    );
    expect(Object.fromEntries(llm.calls.map((c) => [c.context.agent, c.model]))).toEqual({
      'judge.security': 'anthropic:claude',
      'judge.performance': 'openai:gpt-4o',
    });
  });

  it('fails with COUNCIL_NO_QUORUM, or the budget error, when no judge can vote', async () => {
    const down = new DomainError('LLM_UNAVAILABLE', 'down', 502);
    const { service } = setup({ 'judge.security': [down], 'judge.performance': [down] });
    await expect(
      service.review(request({ judges: ['security', 'performance'] }), recordingHooks().hooks),
    ).rejects.toMatchObject({ code: 'COUNCIL_NO_QUORUM' });
    const budget = new DomainError('BUDGET_EXCEEDED', 'budget', 402);
    const second = setup({ 'judge.security': [budget] });
    await expect(second.service.review(request({ judges: ['security'] }), recordingHooks().hooks)).rejects.toBe(budget);
  });

  it('reviews without tests in review mode and derives the score from severities', async () => {
    const { service } = setup({
      'judge.security': [review('APPROVE', [{ severity: 'warning', message: 'w' }])],
      'judge.performance': [review('APPROVE', [], 9)],
    });
    const outcome = await service.review(
      request({ mode: 'review', tests: undefined, judges: ['security', 'performance'] }),
      recordingHooks().hooks,
    );
    expect(outcome).toMatchObject({ verdict: 'APPROVE', score: 8.8 });
  });
});
