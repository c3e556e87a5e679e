import { MemorySaver } from '@langchain/langgraph';
import type { Logger } from '@nestjs/common';
import type { LlmCallRequest, LlmResult } from '#src/agents/llm/llm.types.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import type { RunEventsService } from '#src/agents/runs/run-events.service.js';
import type { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import { CouncilReviewer, ReviewHooks, ReviewOutcome, ReviewRequest } from './review.port.js';
import type { GraphDeps, RunContext } from './run-context.js';
import { buildRunGraph } from './run-graph.js';
import type { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import { graphInput } from './run-graph.state.js';
import { TestRunner, TestRunOutput } from './test-runner.port.js';
import { scriptedRun, toolCallResult } from '../../../test/support/scripted-graph.js';

/** The graph's routing with the council hook, on an in-memory checkpointer and fakes at the module boundaries. */
class FakeCouncil extends CouncilReviewer {
  requests: ReviewRequest[] = [];
  constructor(private readonly verdicts: ReviewOutcome['verdict'][]) {
    super();
  }
  async review(request: ReviewRequest, hooks: ReviewHooks): Promise<ReviewOutcome> {
    this.requests.push(request);
    const step = await hooks.startStep('judge.security', { provider: 'openai', model: 'gpt-4o' });
    await hooks.finishStep(step, { status: 'completed', costUsd: '0.01', summary: 'checked' });
    const verdict = this.verdicts.shift() ?? 'APPROVE';
    await hooks.emit('council.completed', { verdict });
    return { verdict, summary: `council says ${verdict}`, issues: [], council: { verdict, judges: [] } };
  }
}

function setup(mode: 'build' | 'review', verdicts: ReviewOutcome['verdict'][], context: Partial<RunContext> = {}) {
  const steps: string[] = [];
  const llmCalls: LlmCallRequest[] = [];
  const emitted: string[] = [];
  const progress = {
    isCancelRequested: async () => false,
    completedStep: async () => null,
    setIteration: async (run: Run, iteration: number) => void (run.iteration = iteration),
    startStep: async (_run: Run, start: { agent: string; iteration: number }) => {
      steps.push(`${start.agent}:${start.iteration}`);
      return {
        id: `step-${steps.length}`,
        agent: start.agent,
        iteration: start.iteration,
        provider: null,
        model: null,
      };
    },
    finishStep: async () => undefined,
    recordStepProgress: async () => undefined,
    emit: async (_run: Run, type: string) => void emitted.push(type),
    emitSoon: (_run: Run, type: string) => void emitted.push(type),
    flushEvents: async () => undefined,
  } as unknown as RunProgressService;
  const answers: Record<string, unknown> = {
    submit_plan: { summary: 'p', steps: [] },
    write_files: { files: [{ path: 'a.mjs', content: 'x' }] },
    write_tests: { files: [{ path: 'a.test.mjs', content: 't' }] },
  };
  const llm = {
    call: async (request: LlmCallRequest): Promise<LlmResult> => {
      llmCalls.push(request);
      // A single-shot model: it answers with the forced tool, or the first offered (the finishing one).
      const name = typeof request.toolChoice === 'object' ? request.toolChoice.name : request.tools![0].name;
      return toolCallResult([{ id: '1', name, arguments: answers[name] as Record<string, unknown> }]);
    },
  };
  class PassingTests extends TestRunner {
    async run(): Promise<TestRunOutput> {
      return { exitCode: 0, output: 'ok', timedOut: false, durationMs: 1, passed: 3, failed: 0, failures: [] };
    }
  }
  const council = new FakeCouncil(verdicts);
  const deps: GraphDeps = {
    llm,
    tests: new PassingTests(),
    progress,
    events: { publishDelta: async () => undefined } as unknown as RunEventsService,
    council,
    repositories: null,
    tools: { workspaces: {} as WorkspaceService, commands: null },
    trajectory: { toolCall: () => undefined },
    stepTimeoutMs: 5_000,
    streamDeltas: false,
    logger: console as unknown as Logger,
  };
  const run = scriptedRun(`run-${mode}-${verdicts.join('-')}`, { mode, files: [{ path: 'a.mjs', content: 'x' }] });
  const ctx: RunContext = {
    run,
    signal: new AbortController().signal,
    maxIterations: 3,
    requirePlanApproval: false,
    councilEnabled: true,
    judges: ['security', 'performance'],
    models: {},
    maxToolCalls: 40,
    loopContextTokens: 60_000,
    recovering: false,
    ...context,
  };
  const contexts = new Map([[run.id, ctx]]);
  const graph = buildRunGraph(deps, contexts, new MemorySaver());
  const invoke = async () =>
    (await graph.invoke(graphInput(run.input.files), { configurable: { thread_id: run.id } })).run;
  return { steps, emitted, council, invoke, llmCalls };
}

describe('run graph with the council hook', () => {
  it('sends a review-only task straight to the council, without planning, coding or tests', async () => {
    const { steps, emitted, council, invoke } = setup('review', ['REVISE']);
    const state = await invoke();
    expect(steps).toEqual(['judge.security:1']);
    expect(emitted).toEqual(['council.completed']);
    expect(council.requests[0]).toMatchObject({
      mode: 'review',
      judges: ['security', 'performance'],
      tests: undefined,
      files: [{ path: 'a.mjs', content: 'x' }],
    });
    expect(state.outcome).toEqual({ status: 'completed' });
    expect(state.review?.verdict).toBe('REVISE');
  });

  it('asks the council after passing tests and goes back to the coder on REVISE', async () => {
    const { steps, council, invoke } = setup('build', ['REVISE', 'APPROVE']);
    const state = await invoke();
    expect(steps).toEqual([
      'planner:0',
      'coder:1',
      'tester:1',
      'sandbox:1',
      'judge.security:1',
      'coder:2',
      'sandbox:2',
      'judge.security:2',
    ]);
    expect(council.requests.map((r) => r.tests)).toEqual([
      { passed: 3, failed: 0, output: 'ok' },
      { passed: 3, failed: 0, output: 'ok' },
    ]);
    expect(state).toMatchObject({ iteration: 2, outcome: { status: 'completed' }, review: { verdict: 'APPROVE' } });
  });

  it("routes the council's calls against the task's latencySloMs, as every agent's", async () => {
    const { council, invoke, llmCalls } = setup('build', ['APPROVE'], { latencySloMs: 1500 });
    await invoke();
    expect(llmCalls.length).toBeGreaterThan(0);
    expect(llmCalls.map((c) => c.latencySloMs)).toEqual(llmCalls.map(() => 1500));
    expect(council.requests.map((r) => r.latencySloMs)).toEqual([1500]);
  });

  it('hands the council no SLO when the task sets none', async () => {
    const { council, invoke } = setup('review', ['APPROVE']);
    await invoke();
    expect(council.requests).toHaveLength(1);
    expect(council.requests[0]).not.toHaveProperty('latencySloMs');
  });
});
