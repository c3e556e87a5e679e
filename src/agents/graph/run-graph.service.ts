import { Command } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LlmGatewayService } from '#src/agents/llm/llm-gateway.service.js';
import type { ResumeAnswer, RunResult } from '#src/agents/runs/entities/run.entity.js';
import { RunEventsService } from '#src/agents/runs/run-events.service.js';
import { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { CouncilReviewer } from './review.port.js';
import type { RunContext } from './run-context.js';
import { RunGraph, buildRunGraph } from './run-graph.js';
import { RunGraphValues, initialGraphState } from './run-graph.state.js';
import { TestRunner } from './test-runner.port.js';
import { unifiedDiff } from './unified-diff.js';

export const CHECKPOINT_SCHEMA = 'langgraph';

export type GraphExit =
  | { kind: 'interrupted'; plan: unknown }
  | { kind: 'finished'; status: 'completed' | 'failed'; code?: string; reason?: string; result: RunResult };

/** Owns the compiled run graph and its PostgreSQL checkpointer (tables made by a migration). */
@Injectable()
export class RunGraphService implements OnModuleDestroy {
  private readonly logger = new Logger(RunGraphService.name);
  private readonly checkpointer: PostgresSaver;
  private readonly graph: RunGraph;
  private readonly contexts = new Map<string, RunContext>();

  constructor(
    config: ConfigService<AllConfig, true>,
    llm: LlmGatewayService,
    tests: TestRunner,
    progress: RunProgressService,
    events: RunEventsService,
    @Optional() @Inject(CouncilReviewer) council: CouncilReviewer | null,
  ) {
    const agents = config.get('agents', { infer: true });
    this.checkpointer = PostgresSaver.fromConnString(config.get('database', { infer: true }).url, { schema: CHECKPOINT_SCHEMA });
    this.graph = buildRunGraph(
      {
        llm,
        tests,
        progress,
        events,
        council: council ?? null,
        stepTimeoutMs: agents.stepTimeoutMs,
        streamDeltas: agents.streamDeltas,
        logger: this.logger,
      },
      this.contexts,
      this.checkpointer,
    );
  }

  /**
   * Runs (or continues) the run's graph until it ends or waits for a plan answer. `resume` answers
   * an interrupt; otherwise an existing checkpoint is continued (a stalled job on another worker)
   * and a run without one starts from the task's files.
   */
  async advance(ctx: RunContext, resume: ResumeAnswer | null): Promise<GraphExit> {
    // No `signal` here on purpose: aborting invoke() would return while a node still runs and writes
    // its step afterwards. Nodes get the signal themselves and stop within the abort's reach.
    const config = { configurable: { thread_id: ctx.run.id }, durability: 'sync' as const, recursionLimit: 200 };
    this.contexts.set(ctx.run.id, ctx);
    try {
      const existing = await this.graph.getState(config);
      const hasCheckpoint = existing.values && Object.keys(existing.values).length > 0;
      const input = resume ? new Command({ resume }) : hasCheckpoint ? null : initialGraphState(ctx.run.input.files);
      await this.graph.invoke(input as never, config);
      const snapshot = await this.graph.getState(config);
      const pending = snapshot.tasks.flatMap((task) => task.interrupts ?? []);
      const state = snapshot.values as RunGraphValues;
      if (pending.length > 0) return { kind: 'interrupted', plan: state.plan };
      const result = this.resultOf(ctx, state);
      const outcome = state.outcome ?? { status: 'failed', code: 'AGENT_FAILED', reason: 'The run ended without an outcome.' };
      return { kind: 'finished', status: outcome.status, code: outcome.code, reason: outcome.reason, result };
    } finally {
      this.contexts.delete(ctx.run.id);
    }
  }

  /** The files, diff, tests and review of the latest checkpoint (also for runs that end in failure). */
  async latestResult(ctx: RunContext): Promise<RunResult | null> {
    const snapshot = await this.graph.getState({ configurable: { thread_id: ctx.run.id } });
    const state = snapshot.values as RunGraphValues | undefined;
    return state && Object.keys(state).length > 0 ? this.resultOf(ctx, state) : null;
  }

  async onModuleDestroy(): Promise<void> {
    await this.checkpointer.end().catch(() => undefined);
  }

  private resultOf(ctx: RunContext, state: RunGraphValues): RunResult {
    return {
      files: state.files,
      tests: state.tests
        ? { files: state.testFiles, passed: state.tests.passed, failed: state.tests.failed, output: state.tests.output }
        : null,
      diff: unifiedDiff(ctx.run.input.files, state.files),
      review: state.review,
      plan: state.plan ?? undefined,
    };
  }
}
