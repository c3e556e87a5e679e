import { Command, INTERRUPT } from '@langchain/langgraph';
import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import pg from 'pg';
import { ConfigService } from '@nestjs/config';
import { LlmGatewayService } from '#src/agents/llm/llm-gateway.service.js';
import type { ResumeAnswer, RunResult } from '#src/agents/runs/entities/run.entity.js';
import { RunEventsService } from '#src/agents/runs/run-events.service.js';
import { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import { DomainError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { BatchedPostgresSaver } from './batched-postgres-saver.js';
import { EnvironmentSetup } from './environment.port.js';
import { AgentStepError, endedStepStatus, isInterruption } from './graph.errors.js';
import { RepositoryRunner } from './repository.port.js';
import { CouncilReviewer } from './review.port.js';
import type { RunContext } from './run-context.js';
import { RunGraph, buildRunGraph, mergeFiles } from './run-graph.js';
import { RunGraphChannels, RunGraphRecord, graphInput } from './run-graph.state.js';
import { TestRunner } from './test-runner.port.js';
import { CommandRunner } from '#src/agents/tools/workspace-toolbox.js';
import { TrajectoryRecorder } from '#src/agents/trajectories/trajectory-recorder.service.js';
import { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import { unifiedDiff } from './unified-diff.js';

export const CHECKPOINT_SCHEMA = 'langgraph';
const SETUP_STEP = 'setup';

export type GraphExit =
  | { kind: 'interrupted'; plan: unknown }
  | { kind: 'finished'; status: 'completed' | 'failed'; code?: string; reason?: string; result: RunResult };

/** Owns the compiled run graph and its PostgreSQL checkpointer (tables made by a migration). */
@Injectable()
export class RunGraphService implements OnApplicationShutdown {
  private readonly logger = new Logger(RunGraphService.name);
  private readonly pool: pg.Pool;
  private readonly checkpointer: BatchedPostgresSaver;
  private readonly graph: RunGraph;
  private readonly contexts = new Map<string, RunContext>();

  constructor(
    config: ConfigService<AllConfig, true>,
    llm: LlmGatewayService,
    tests: TestRunner,
    private readonly progress: RunProgressService,
    events: RunEventsService,
    @Optional() @Inject(CouncilReviewer) council: CouncilReviewer | null,
    @Optional() @Inject(RepositoryRunner) private readonly repositories: RepositoryRunner | null,
    private readonly environments: EnvironmentSetup,
    private readonly workspaces: WorkspaceService,
    commands: CommandRunner,
    trajectory: TrajectoryRecorder,
  ) {
    const agents = config.get('agents', { infer: true });
    const database = config.get('database', { infer: true });
    this.pool = new pg.Pool({ connectionString: database.url, max: Math.max(2, Math.min(10, database.poolSize)) });
    // An idle client losing its server (restart, failover) must not crash the worker; the next query reconnects.
    this.pool.on('error', (error) => this.logger.warn({ err: error }, 'checkpoint pool client error'));
    this.checkpointer = new BatchedPostgresSaver(this.pool, CHECKPOINT_SCHEMA);
    this.graph = buildRunGraph(
      {
        llm,
        tests,
        progress,
        events,
        council: council ?? null,
        repositories: repositories ?? null,
        tools: { workspaces, commands },
        trajectory,
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
    // Checkpoints are written while the next node runs ('async'): a crash may lose the newest one,
    // and then the replayed node finds its completed step (by step key) and reuses its answer
    // instead of calling the model again, so nothing finished is paid for twice either way.
    // No `signal` here on purpose: aborting invoke() would return while a node still runs and writes
    // its step afterwards. Nodes get the signal themselves and stop within the abort's reach.
    // The recursion limit is no bound of ours: tool loops are bounded in state (maxToolCalls per
    // step, and a hand-over's superstep per round at most), iterations by maxIterations.
    const config = { configurable: { thread_id: ctx.run.id }, durability: 'async' as const, recursionLimit: 10_000 };
    this.contexts.set(ctx.run.id, ctx);
    try {
      // Only a redelivered job may find a checkpoint to continue (a fresh start has none yet).
      const hasCheckpoint =
        ctx.recovering && !resume
          ? Boolean(((await this.graph.getState(config)).values as Partial<RunGraphChannels> | undefined)?.run)
          : false;
      if (ctx.run.input.repositoryId) {
        await this.prepareRepository(ctx);
        if (ctx.repository!.cloned && (hasCheckpoint || resume)) await this.restoreAnswered(ctx, config);
        await this.prepareEnvironment(ctx);
      }
      // A redelivered job continues from the dead worker's last checkpoint, if it got as far as writing one.
      const input: Command | RunGraphChannels | null = resume
        ? new Command({ resume })
        : ctx.recovering && hasCheckpoint
          ? null
          : graphInput(await this.initialFiles(ctx));
      // The final values (with the pending interrupts, if any) as invoke() returns them; the stored
      // state is read back only when invoke() had nothing to report (a continued run already at its end).
      const output = (await this.graph.invoke(input as never, config)) as
        (Partial<RunGraphChannels> & { [INTERRUPT]?: unknown[] }) | undefined;
      let state: RunGraphRecord;
      let pending: number;
      if (output?.run) {
        state = output.run;
        pending = output[INTERRUPT]?.length ?? 0;
      } else {
        const snapshot = await this.graph.getState(config);
        state = (snapshot.values as RunGraphChannels).run;
        pending = snapshot.tasks.flatMap((task) => task.interrupts ?? []).length;
      }
      if (pending > 0) return { kind: 'interrupted', plan: state.plan };
      const result = this.resultOf(ctx, state);
      const outcome = state.outcome ?? {
        status: 'failed',
        code: 'AGENT_FAILED',
        reason: 'The run ended without an outcome.',
      };
      if (ctx.repository) await this.publishRepository(ctx, state, result, outcome.status === 'completed');
      return { kind: 'finished', status: outcome.status, code: outcome.code, reason: outcome.reason, result };
    } finally {
      this.contexts.delete(ctx.run.id);
    }
  }

  /** The files, diff, tests and review of the latest checkpoint (also for runs that end in failure). */
  async latestResult(ctx: RunContext): Promise<RunResult | null> {
    const snapshot = await this.graph.getState({ configurable: { thread_id: ctx.run.id } });
    const state = (snapshot.values as Partial<RunGraphChannels> | undefined)?.run;
    if (!state) return null;
    const result = this.resultOf(ctx, state);
    // A repository task that failed on the way is committed too: its diff and its patch show what
    // the agents changed, from the same commit, as for a run that ends by its own outcome.
    if (ctx.repository) {
      await this.publishRepository(ctx, state, result, false).catch((error: unknown) =>
        this.logger.warn({ err: error, runId: ctx.run.id }, 'committing a failed run’s changes failed'),
      );
    }
    return result;
  }

  /** A repository task works on a shallow clone of its branch (kept across plan approval). */
  private async prepareRepository(ctx: RunContext): Promise<void> {
    if (!this.repositories)
      throw new DomainError('REPOSITORIES_UNAVAILABLE', 'This worker cannot run repository tasks.', 500);
    ctx.repository = await this.repositories.prepare(ctx.run, ctx.signal);
  }

  /**
   * A run continued from a checkpoint on a fresh clone (its checkout was on another machine): the
   * files its finishing calls answered, which the checkpoint carries, are written into the clone,
   * so that the run goes on with them. Edits made only with the tools stayed in the lost checkout.
   */
  private async restoreAnswered(ctx: RunContext, config: { configurable: { thread_id: string } }): Promise<void> {
    const state = ((await this.graph.getState(config)).values as Partial<RunGraphChannels> | undefined)?.run;
    const files = state ? mergeFiles(state.files, state.testFiles) : [];
    if (files.length === 0) return;
    await this.workspaces.writeFiles(ctx.repository!.dir, files);
    this.logger.warn(
      { runId: ctx.run.id, files: files.length },
      'continued on a fresh clone: the answered files were restored; tool edits of the earlier checkout are lost',
    );
  }

  /**
   * The run's environment setup (step `setup`, event `setup.completed`), once per run. A job that
   * continues the run later (plan answer, redelivery) finds the step done and only looks the
   * products up again (re-installing them, silently, on a worker whose cache lacks them).
   */
  private async prepareEnvironment(ctx: RunContext): Promise<void> {
    const checkout = ctx.repository!;
    const request = {
      repositoryId: ctx.run.input.repositoryId!,
      dir: checkout.dir,
      setupCommand: checkout.setupCommand,
      signal: ctx.signal,
    };
    if (await this.progress.completedStep(ctx.run.id, SETUP_STEP)) {
      ctx.environment = await this.environments.prepare(request);
      return;
    }
    const step = await this.progress.startStep(ctx.run, { agent: 'setup', iteration: 0, stepKey: SETUP_STEP });
    try {
      ctx.environment = await this.environments.prepare(request);
    } catch (error) {
      if (isInterruption(ctx.signal, error)) throw error;
      const cancelled = ctx.signal.aborted;
      await this.progress.finishStep(ctx.run, step, {
        status: endedStepStatus(ctx.signal),
        summary: cancelled ? 'setup cancelled' : 'setup failed',
        error: (error as Error).message.slice(0, 4000),
      });
      if (cancelled || error instanceof DomainError) throw error;
      throw new AgentStepError('SANDBOX_FAILED', `The environment setup could not run: ${(error as Error).message}`);
    }
    const { command, cached, durationMs } = ctx.environment;
    await this.progress.finishStep(ctx.run, step, {
      status: 'completed',
      summary: command ? `${cached ? 'Reused' : 'Ran'} \`${command}\` (${durationMs} ms)` : 'Nothing to set up',
      output: { command, cached, durationMs },
    });
    await this.progress.emit(ctx.run, 'setup.completed', { cached, durationMs, command });
  }

  /** A review-only task on a repository reviews the relevant part of it. */
  private async initialFiles(ctx: RunContext) {
    const input = ctx.run.input;
    if (!ctx.repository || input.mode !== 'review' || input.files.length > 0) return input.files;
    return ctx.repository.viewFiles([], `${input.title}\n${input.description}`);
  }

  /**
   * The result of a repository task is a commit on `quorum/<task-id>`; its diff replaces the
   * file-set diff. The checkout goes once the run completes and stays (until the workspace sweep)
   * when it failed, for inspection.
   */
  private async publishRepository(
    ctx: RunContext,
    state: RunGraphRecord,
    result: RunResult,
    completed: boolean,
  ): Promise<void> {
    const checkout = ctx.repository!;
    try {
      if (ctx.run.input.mode === 'build') {
        const plan = state.plan
          ? `${state.plan.summary}\n\n${state.plan.steps.map((s, i) => `${i + 1}. ${s.title}`).join('\n')}`
          : '';
        const published = await this.repositories!.publish(
          ctx.run,
          checkout,
          mergeFiles(state.files, state.testFiles),
          {
            title: ctx.run.input.title,
            body: plan,
          },
        );
        // The files are what the agents changed, by their finishing calls and their tools alike: the
        // commit's, as its diff (none when nothing changed).
        if (published) {
          const { files, ...commit } = published;
          result.repository = commit;
          result.diff = commit.diff;
          result.files = files;
        } else {
          result.repository = null;
          result.diff = '';
          result.files = [];
        }
      } else {
        // A review changes nothing; the files are the part of the repository that was reviewed.
        result.diff = '';
      }
    } finally {
      await this.repositories!.release(ctx.run, !completed).catch((error: unknown) =>
        this.logger.warn({ err: error, runId: ctx.run.id }, 'removing the repository checkout failed'),
      );
    }
  }

  /** Drops a finished run's checkpoints (best effort: they are only needed while a run can continue). */
  async forget(runId: string): Promise<void> {
    await this.checkpointer
      .deleteThread(runId)
      .catch((error: unknown) => this.logger.warn({ err: error, runId }, 'deleting checkpoints failed'));
  }

  // Closed at application shutdown, after every destroy hook: the run processor hands its runs over
  // in its destroy hook and still writes checkpoints until then.
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private resultOf(ctx: RunContext, state: RunGraphRecord): RunResult {
    return {
      files: state.files,
      tests: state.tests
        ? {
            files: state.testFiles,
            passed: state.tests.countsKnown === false ? null : state.tests.passed,
            failed: state.tests.countsKnown === false ? null : state.tests.failed,
            output: state.tests.output,
          }
        : null,
      // A repository task's diff is its commit's (set when it is published), never a file-set diff:
      // against the base commit, hunks only. Otherwise the change from the task's files to the
      // result's, tests included: the same diff `GET /tasks/:id/patch` commits.
      diff: ctx.run.input.repositoryId
        ? ''
        : unifiedDiff(ctx.run.input.files, mergeFiles(state.files, state.testFiles)),
      review: state.review,
      plan: state.plan ?? undefined,
    };
  }
}
