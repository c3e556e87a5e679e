import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import { END, START, StateGraph, interrupt } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph';
import type { ResumeAnswer } from '#src/agents/runs/entities/run.entity.js';
import { normaliseWorkspacePath } from '#src/tasks/file-paths.js';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import { planSchema, reviewSchema, writeFilesSchema, writeTestsSchema } from './agent-tools.js';
import type { WriteFiles, WriteTests } from './agent-tools.js';
import { runAgentStep } from './agent-step.js';
import { AgentStepError, RunInterruptedError, endedStepStatus, isInterruption } from './graph.errors.js';
import { SYSTEM, boundedDiff, renderFiles, renderPlan, taskBrief } from './prompts.js';
import { withInstructions } from './repository-instructions.js';
import type { ReviewHooks, ReviewOutcome, ReviewRequest } from './review.port.js';
import { budgetScopeOf } from './run-context.js';
import type { GraphDeps, RunContext } from './run-context.js';
import {
  hasLegacyLoop,
  loopOf,
  RunGraphChannels,
  RunGraphState,
  RunGraphUpdate,
  RunGraphValues,
} from './run-graph.state.js';
import { inSpan } from '#src/telemetry/spans.js';
import { WorkspaceToolbox } from '#src/agents/tools/workspace-toolbox.js';
import { analyseTestOutput } from './test-analysis.js';
import { loopRound, loopToolCalls, recoverToolLoop, startToolLoop } from './tool-loop.js';
import type { ToolLoopState } from './tool-loop.js';

const MAX_STORED_OUTPUT = 20_000;

/**
 * The run graph: planner → (plan approval) → coder → tester → sandbox + test analysis → reviewer or
 * council → back to the coder with the findings, until an approval with passing tests or the
 * iteration budget. Review-only tasks go straight to the review.
 */
export function buildRunGraph(deps: GraphDeps, contexts: Map<string, RunContext>, checkpointer: BaseCheckpointSaver) {
  /** Stops the run at a node boundary (or between tool-loop rounds): a cancel or a hand-over. */
  const goOn = async (ctx: RunContext): Promise<void> => {
    ctx.signal.throwIfAborted();
    if (ctx.handover?.aborted) throw new RunInterruptedError();
    // A cancel whose Redis message was missed is still seen here, between nodes (looked up at most
    // once a second: the Redis message is the fast path, this is the safety net).
    const now = Date.now();
    if (now - (ctx.cancelCheckedAt ?? 0) >= 1_000) {
      ctx.cancelCheckedAt = now;
      if (await deps.progress.isCancelRequested(ctx.run.id))
        throw new DOMException('The run was cancelled.', 'AbortError');
    }
  };

  const contextOf = async (config: LangGraphRunnableConfig): Promise<RunContext> => {
    const runId = String(config.configurable?.thread_id);
    const ctx = contexts.get(runId);
    if (!ctx) throw new Error(`no run context for ${runId}`);
    await goOn(ctx);
    return ctx;
  };

  /** A repository task's bounded view of its checkout (tree + the files asked for), as prompt text. */
  const repositoryView = async (ctx: RunContext, plan: RunGraphValues['plan']): Promise<string> => {
    if (!ctx.repository) return '';
    const requested = plan?.steps.flatMap((step) => step.files ?? []) ?? [];
    return `\n\n${await ctx.repository.view(requested, `${ctx.run.input.title}\n${ctx.run.input.description}`)}`;
  };

  const planner = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const round = state.planRound + 1;
    const feedback = state.planFeedback
      ? `\n\nThe user did not approve the previous plan.\nPrevious plan:\n${renderPlan(state.plan)}\nTheir feedback: ${state.planFeedback}`
      : '';
    const plan = await runAgentStep(deps, ctx, {
      agent: 'planner',
      stepKey: `planner:${round}`,
      iteration: 0,
      tool: 'submit_plan',
      schema: planSchema,
      messages: [
        { role: 'system', content: withInstructions(SYSTEM.planner, ctx.repository?.instructions) },
        { role: 'user', content: taskBrief(ctx.run.input) + (await repositoryView(ctx, null)) + feedback },
      ],
      summarise: (answer) => `Plan with ${answer.steps.length} step(s): ${answer.summary}`,
    });
    return { plan, planRound: round, planFeedback: null, planApproved: !ctx.requirePlanApproval };
  };

  const approval = (state: RunGraphValues): RunGraphUpdate => {
    const answer = interrupt<{ plan: unknown }, ResumeAnswer>({ plan: state.plan });
    if (answer?.approve) return { planApproved: true };
    return { planApproved: false, planFeedback: answer?.feedback?.trim() || 'Please revise the plan.' };
  };

  const coderSpec = (iteration: number) => ({
    agent: 'coder' as const,
    stepKey: `coder:${iteration}`,
    iteration,
    finishTool: 'write_files' as const,
    schema: writeFilesSchema,
    check: (value: WriteFiles) => checkPaths(value.files),
    summarise: (value: WriteFiles) =>
      `Wrote ${value.files.length} file(s): ${value.files.map((f) => f.path).join(', ')}`.slice(0, 500),
  });
  const testerSpec = (iteration: number) => ({
    agent: 'tester' as const,
    stepKey: `tester:${iteration}`,
    iteration,
    finishTool: 'write_tests' as const,
    schema: writeTestsSchema,
    check: (value: WriteTests) => checkPaths(value.files),
    summarise: (value: WriteTests) =>
      `Wrote ${value.files.length} test file(s): ${value.files.map((f) => f.path).join(', ')}`.slice(0, 500),
  });

  /**
   * A repository task's change so far (the checkout against its base commit, tool edits included)
   * as prompt text: what a revising coder and the tester are shown instead of the files the
   * finishing calls named, which a tool loop may leave empty.
   */
  const changeSoFar = async (checkout: NonNullable<RunContext['repository']>, heading: string): Promise<string> => {
    const { diff } = await checkout.change();
    return `${heading} (a diff against the repository's base commit; the checkout holds it):\n${boundedDiff(diff) || '(none: the checkout is unchanged)'}`;
  };

  /** The coder's step starts its tool loop (agent_model runs its rounds, then coder_done). */
  const coder = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const iteration = state.iteration + 1;
    const findings = `Fix these findings:\n${state.findings ?? ''}`;
    let revision = '';
    if (iteration > 1 && ctx.repository)
      revision = `\n\nThis is revision ${iteration}. ${await changeSoFar(ctx.repository, 'Your change so far')}\n\n${findings}`;
    else if (iteration > 1)
      revision =
        `\n\nThis is revision ${iteration}. Current files:\n${renderFiles(state.files)}\n\n${findings}` +
        (state.testFiles.length > 0 ? `\n\nThe tests:\n${renderFiles(state.testFiles)}` : '');
    const task = `${taskBrief(ctx.run.input)}${await repositoryView(ctx, state.plan)}\n\n${renderPlan(state.plan)}${revision}`;
    // The run's new iteration is stored while the step starts (one wait instead of two).
    const [, loop] = await Promise.all([
      deps.progress.setIteration(ctx.run, iteration),
      startToolLoop(deps, ctx, {
        ...coderSpec(iteration),
        messages: [
          {
            role: 'system',
            content: withInstructions(SYSTEM.coder(ctx.run.input.language), ctx.repository?.instructions),
          },
          { role: 'user', content: task },
        ],
      }),
    ]);
    return { iteration, loop };
  };

  /**
   * A repository task's agents work in its checkout, which is the truth: a finishing call's files
   * are written into it (the next step's tools see them), and the run's file lists are read back
   * from it, so that a later step's edit is never overwritten by an older copy when the tests run or
   * the result is committed. A file gone from the checkout leaves its list.
   */
  const syncCheckout = async (
    dir: string,
    answered: TaskFile[],
    lists: { files: string[]; testFiles: string[] },
  ): Promise<{ files: TaskFile[]; testFiles: TaskFile[] }> => {
    if (answered.length > 0) await deps.tools.workspaces.writeFiles(dir, answered);
    const checkout = new WorkspaceToolbox(dir, deps.tools.workspaces, null);
    const read = async (paths: string[]): Promise<TaskFile[]> => {
      const files: TaskFile[] = [];
      for (const path of new Set(paths)) {
        const content = await checkout.readWorkspaceFile(path);
        if (content !== null) files.push({ path, content });
      }
      // In path order, as mergeFiles keeps the lists of a task without a repository.
      return files.sort((a, b) => a.path.localeCompare(b.path));
    };
    return { files: await read(lists.files), testFiles: await read(lists.testFiles) };
  };
  const pathsOf = (files: TaskFile[]) => files.map((file) => file.path);

  const coderDone = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const loop = state.loop!;
    const answer = loop.answer as WriteFiles;
    const cleared = { loop: null, findings: null, tests: null, review: null };
    const ctx = await contextOf(config);
    if (!loop.workspaceDir && ctx.repository) {
      // The coder's own tool edits stay out of `files` (the diff shows them): it lists what it answered.
      const answered = normaliseFiles(answer.files);
      const synced = await syncCheckout(ctx.repository.dir, answered, {
        files: [...pathsOf(state.files), ...pathsOf(answered)],
        testFiles: pathsOf(state.testFiles),
      });
      return { ...cleared, ...synced };
    }
    // Without a repository the step's workspace holds the whole file set (deletions included).
    const base = loop.workspaceDir ? await deps.tools.workspaces.readFiles(loop.workspaceDir) : state.files;
    if (loop.workspaceDir) await deps.tools.workspaces.remove(loop.workspaceDir);
    return { ...cleared, files: mergeFiles(base, normaliseFiles(answer.files)) };
  };

  const tester = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const loop = await startToolLoop(deps, ctx, {
      ...testerSpec(state.iteration),
      messages: [
        {
          role: 'system',
          content: withInstructions(SYSTEM.tester(ctx.run.input.language), ctx.repository?.instructions),
        },
        {
          role: 'user',
          content: `${taskBrief(ctx.run.input)}${await repositoryView(ctx, state.plan)}\n\n${renderPlan(state.plan)}\n\n${
            ctx.repository
              ? await changeSoFar(ctx.repository, 'The change under test')
              : `The code under test:\n${renderFiles(state.files)}`
          }`,
        },
      ],
    });
    return { loop };
  };

  const testerDone = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const loop = state.loop!;
    const answer = loop.answer as WriteTests;
    const ctx = await contextOf(config);
    if (!loop.workspaceDir && ctx.repository) {
      // The tester's tests are the files its tools wrote (still there) and the ones it answered.
      const answered = normaliseFiles(answer.files);
      const synced = await syncCheckout(ctx.repository.dir, answered, {
        files: pathsOf(state.files),
        testFiles: [...pathsOf(state.testFiles), ...(loop.written ?? []), ...pathsOf(answered)],
      });
      return { loop: null, ...synced };
    }
    let written: TaskFile[] = [];
    if (loop.workspaceDir) {
      // What the tester created or changed in its workspace are test files.
      const source = new Map(state.files.map((file) => [file.path, file.content]));
      written = (await deps.tools.workspaces.readFiles(loop.workspaceDir)).filter(
        (file) => source.get(file.path) !== file.content,
      );
      await deps.tools.workspaces.remove(loop.workspaceDir);
    }
    return { loop: null, testFiles: mergeFiles(mergeFiles(state.testFiles, written), normaliseFiles(answer.files)) };
  };

  const specOf = (loop: ToolLoopState) =>
    loop.agent === 'coder' ? coderSpec(loop.iteration) : testerSpec(loop.iteration);

  /** The files a step workspace starts with: the coder's, plus the tests for the tester. */
  const seedOf = (state: RunGraphValues, loop: ToolLoopState) => () =>
    loop.agent === 'coder' ? state.files : mergeFiles(state.files, state.testFiles);

  /**
   * The running tool loop, round after round (a model call and the tools it asked for) until the
   * finishing call. A round is not a graph step of its own: the step row's memo of each model call
   * is what a crashed loop resumes from (see recoverToolLoop), which spares each round a superstep
   * and a checkpoint. A cancel stops it between rounds as between nodes; a hand-over ends the node
   * at a round's end, so its checkpoint keeps the loop for the worker that takes the run over.
   */
  const agentModel = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const spec = specOf(state.loop!) as Parameters<typeof loopRound>[3];
    let { loop, replay } = ctx.recovering
      ? await recoverToolLoop(deps, ctx, state.loop!, spec)
      : { loop: state.loop!, replay: null };
    const seed = seedOf(state, loop);
    while (loop.answer === null) {
      loop = await loopRound(deps, ctx, loop, spec, seed, replay);
      replay = null;
      if (loop.answer !== null || ctx.handover?.aborted) break;
      await goOn(ctx);
    }
    return { loop };
  };

  /**
   * The tool node of the layout before a round was one node (model node ⇄ tool node). A checkpoint
   * written then by a worker stopped between a model call and its tools (a rolling deploy) still
   * waits on it: it answers that call's tools as it did, then the loop goes on in rounds.
   */
  const legacyAgentTools = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const loop = state.loop!;
    return { loop: await loopToolCalls(deps, ctx, loop, seedOf(state, loop)) };
  };

  /** After a round: finished → the agent's done node; otherwise (tools answered, or a corrective) → the next round. */
  const afterRound = ({ loop }: RunGraphChannels) =>
    loop!.answer !== null ? (loop!.agent === 'coder' ? 'coder_done' : 'tester_done') : 'agent_model';

  const sandbox = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const stepKey = `sandbox:${state.iteration}`;
    const done = ctx.recovering ? await deps.progress.completedStep(ctx.run.id, stepKey) : null;
    let report = done?.output as ReturnType<typeof analyseTestOutput> | undefined;
    if (!report) {
      const step = await deps.progress.startStep(ctx.run, { agent: 'sandbox', iteration: state.iteration, stepKey });
      try {
        const raw = await deps.tests.run({
          userId: ctx.run.userId,
          runId: ctx.run.id,
          iteration: state.iteration,
          language: ctx.run.input.language,
          files: mergeFiles(state.files, state.testFiles),
          baseDir: ctx.repository?.dir,
          testCommand: testCommandOf(ctx),
          mounts: ctx.environment?.mounts,
          signal: ctx.signal,
        });
        const analysed = analyseTestOutput(ctx.run.input.language, raw);
        report = { ...analysed, output: truncate(analysed.output) };
        await deps.progress.finishStep(ctx.run, step, {
          status: 'completed',
          summary: `${report.passed} passed, ${report.failed} failed in ${raw.durationMs} ms`,
          output: report,
          data: { passed: report.passed, failed: report.failed },
        });
      } catch (error) {
        if (isInterruption(ctx.signal, error)) throw error;
        await deps.progress.finishStep(ctx.run, step, {
          status: endedStepStatus(ctx.signal),
          summary: 'sandbox failed',
          error: (error as Error).message,
        });
        if (ctx.signal.aborted) throw error;
        throw new AgentStepError('SANDBOX_FAILED', `The sandbox could not run the tests: ${(error as Error).message}`);
      }
      await deps.progress.emit(ctx.run, 'tests.completed', {
        iteration: state.iteration,
        passed: report.passed,
        failed: report.failed,
        failures: report.failures,
      });
    }
    if (report.failed === 0) return { tests: report };
    const findings = report.failures.map((failure) => `- test "${failure.name}" failed: ${failure.message}`).join('\n');
    if (state.iteration >= ctx.maxIterations) {
      return {
        tests: report,
        findings,
        outcome: {
          status: 'failed',
          code: 'MAX_ITERATIONS',
          reason:
            `Tests still failing after ${state.iteration} iteration(s) (${report.failed} failed): ${findings}`.slice(
              0,
              2000,
            ),
        },
      };
    }
    return { tests: report, findings };
  };

  const review = async (state: RunGraphValues, config: LangGraphRunnableConfig): Promise<RunGraphUpdate> => {
    const ctx = await contextOf(config);
    const input = ctx.run.input;
    const reviewIteration = Math.max(state.iteration, 1);
    // A build task on a repository is judged on its change in the checkout (the agents' tool edits
    // included), not on the files its finishing calls named: those may be none.
    const change = ctx.repository && input.mode === 'build' ? await ctx.repository.change() : null;
    const request: ReviewRequest = {
      userId: ctx.run.userId,
      budget: budgetScopeOf(ctx.run),
      taskId: ctx.run.taskId,
      runId: ctx.run.id,
      iteration: reviewIteration,
      mode: input.mode,
      language: input.language,
      title: input.title,
      description: input.description,
      plan: state.plan ? renderPlan(state.plan) : undefined,
      files: change ? change.files : state.files,
      ...(change ? { diff: boundedDiff(change.diff) } : {}),
      tests: state.tests
        ? {
            passed: state.tests.passed,
            failed: state.tests.failed,
            output: state.tests.output,
            // Unknown counts: the test command's exit code is the verdict.
            ...(state.tests.countsKnown === false ? { ok: state.tests.failed === 0 } : {}),
          }
        : undefined,
      judges: ctx.judges,
      models: ctx.models,
      instructions: ctx.repository?.instructions ?? undefined,
      ...(input.config?.councilMaxCostUsd ? { councilMaxCostUsd: input.config.councilMaxCostUsd } : {}),
      ...(ctx.latencySloMs !== undefined ? { latencySloMs: ctx.latencySloMs } : {}),
      ...(input.config?.onBudgetExceeded === 'pause' ? { pauseOnBudget: true } : {}),
      signal: ctx.signal,
    };
    const outcome =
      ctx.councilEnabled && deps.council
        ? await deps.council.review(request, hooksFor(ctx))
        : await singleReview(ctx, request);
    if (outcome.verdict === 'APPROVE' || input.mode === 'review')
      return { review: outcome, outcome: { status: 'completed' } };
    const findings = [`Review verdict ${outcome.verdict}: ${outcome.summary}`, ...outcome.issues.map(formatIssue)].join(
      '\n',
    );
    if (state.iteration >= ctx.maxIterations) {
      return {
        review: outcome,
        findings,
        outcome: {
          status: 'failed',
          code: 'MAX_ITERATIONS',
          reason: `Not approved after ${state.iteration} iteration(s): ${findings}`.slice(0, 2000),
        },
      };
    }
    return { review: outcome, findings };
  };

  const singleReview = async (ctx: RunContext, request: ReviewRequest): Promise<ReviewOutcome> => {
    const tests = request.tests
      ? request.tests.ok === undefined
        ? `\n\nTest results: ${request.tests.passed} passed, ${request.tests.failed} failed.`
        : `\n\nTest results: the test command ${request.tests.ok ? 'passed' : 'failed'} (counts unknown).`
      : '';
    const change =
      request.diff !== undefined
        ? `\n\nThe change against the repository's base commit:\n${request.diff || '(none: the checkout is unchanged)'}`
        : '';
    const answer = await runAgentStep(deps, ctx, {
      agent: 'reviewer',
      stepKey: `reviewer:${request.iteration}`,
      iteration: request.iteration,
      tool: 'submit_review',
      schema: reviewSchema,
      messages: [
        { role: 'system', content: withInstructions(SYSTEM.reviewer, request.instructions) },
        {
          role: 'user',
          content: `${taskBrief(ctx.run.input)}\n\n${request.plan ?? ''}\n\nCode to review:\n${renderFiles(request.files)}${change}${tests}`,
        },
      ],
      summarise: (value) => `${value.verdict}: ${value.summary}`.slice(0, 500),
    });
    const order = { critical: 0, warning: 1, info: 2 } as const;
    return {
      verdict: answer.verdict,
      summary: answer.summary,
      score: answer.score,
      issues: [...answer.issues].sort((a, b) => order[a.severity] - order[b.severity]),
    };
  };

  // The open steps of one review: held by its hooks (not shared across runs), so a handle a judge
  // never closed (a hand-over) goes with the review instead of piling up in the worker.
  const hooksFor = (ctx: RunContext): ReviewHooks => {
    const steps = new Map<string, Awaited<ReturnType<typeof deps.progress.startStep>>>();
    return {
      startStep: async (agent, info) => {
        const step = await deps.progress.startStep(ctx.run, {
          agent,
          iteration: Math.max(ctx.run.iteration, 1),
          provider: info.provider,
          model: info.model,
        });
        steps.set(step.id, step);
        return { stepId: step.id };
      },
      finishStep: async (handle, outcome) => {
        const step = steps.get(handle.stepId);
        if (!step) throw new Error(`unknown step ${handle.stepId}`);
        steps.delete(handle.stepId);
        await deps.progress.finishStep(ctx.run, step, {
          status: outcome.status,
          usage: outcome.usage,
          costUsd: outcome.costUsd,
          summary: outcome.summary,
          error: outcome.error,
        });
      },
      emit: async (type, data) => {
        await deps.progress.emit(ctx.run, type as never, data);
      },
    };
  };

  // Nodes work on the merged run state (the `run` channel plus the tool loop) and return the part
  // they change; the tool loop goes to its own channel (see RunGraphState). A checkpoint of the
  // one-channel layout (the loop in `run`) is moved on its first node: the loop to its channel, and
  // a write of `run`, whose reducer drops the old key, so a loop ended later is not read back from it.
  // Each node runs in a span named after its graph node (LangGraph puts the name in the metadata).
  const node =
    (fn: (state: RunGraphValues, config: LangGraphRunnableConfig) => RunGraphUpdate | Promise<RunGraphUpdate>) =>
    async (state: RunGraphChannels, config: LangGraphRunnableConfig): Promise<typeof RunGraphState.Update> => {
      const graphNode = config.metadata?.langgraph_node;
      const name = typeof graphNode === 'string' ? graphNode : fn.name;
      const attributes = { 'quorum.graph.node': name, 'quorum.run.id': String(config.configurable?.thread_id) };
      const current = loopOf(state);
      const legacy = hasLegacyLoop(state.run);
      const { loop, ...run } = await inSpan(`graph ${name}`, attributes, () =>
        Promise.resolve(fn({ ...state.run, loop: current }, config)),
      );
      const moved = legacy && current !== null ? { loop: current } : {};
      return {
        ...(Object.keys(run).length > 0 || legacy ? { run } : {}),
        ...(loop !== undefined ? { loop } : moved),
      };
    };

  return (
    new StateGraph(RunGraphState)
      .addNode('planner', node(planner))
      .addNode('plan_approval', node(approval))
      .addNode('coder', node(coder))
      .addNode('coder_done', node(coderDone))
      .addNode('tester', node(tester))
      .addNode('tester_done', node(testerDone))
      .addNode('agent_model', node(agentModel))
      .addNode('agent_tools', node(legacyAgentTools))
      .addNode('test_run', node(sandbox))
      .addNode('reviewer', node(review))
      .addConditionalEdges(
        START,
        (_state, config) =>
          contexts.get(String(config?.configurable?.thread_id))?.run.input.mode === 'review' ? 'reviewer' : 'planner',
        ['reviewer', 'planner'],
      )
      .addConditionalEdges('planner', ({ run }) => (run.planApproved ? 'coder' : 'plan_approval'), [
        'coder',
        'plan_approval',
      ])
      .addConditionalEdges('plan_approval', ({ run }) => (run.planApproved ? 'coder' : 'planner'), ['coder', 'planner'])
      .addConditionalEdges('coder', ({ loop }) => (loop?.answer !== null ? 'coder_done' : 'agent_model'), [
        'coder_done',
        'agent_model',
      ])
      .addConditionalEdges('tester', ({ loop }) => (loop?.answer !== null ? 'tester_done' : 'agent_model'), [
        'tester_done',
        'agent_model',
      ])
      // `agent_tools` is never chosen any more; listed so that the graph declares the old checkpoints'
      // node reachable (LangGraph refuses to compile an unreachable node).
      .addConditionalEdges('agent_model', afterRound, ['coder_done', 'tester_done', 'agent_model', 'agent_tools'])
      .addEdge('agent_tools', 'agent_model')
      .addConditionalEdges('coder_done', ({ run }) => (run.testFiles.length > 0 ? 'test_run' : 'tester'), [
        'test_run',
        'tester',
      ])
      .addEdge('tester_done', 'test_run')
      .addConditionalEdges(
        'test_run',
        ({ run }) => (run.outcome ? END : run.tests && run.tests.failed > 0 ? 'coder' : 'reviewer'),
        [END, 'coder', 'reviewer'],
      )
      .addConditionalEdges('reviewer', ({ run }) => (run.outcome ? END : 'coder'), [END, 'coder'])
      .compile({ checkpointer })
  );
}

export type RunGraph = ReturnType<typeof buildRunGraph>;

/**
 * The command that judges the run: the task's `config.testCommand`, else the repository's, else the
 * one detected from its files (`npm test`); undefined: the language's default runner.
 */
export function testCommandOf(ctx: RunContext): string | undefined {
  return (
    ctx.run.input.config.testCommand ?? ctx.repository?.testCommand ?? ctx.environment?.detectedTestCommand ?? undefined
  );
}

function checkPaths(files: TaskFile[]): string | null {
  for (const [index, file] of files.entries()) {
    const result = normaliseWorkspacePath(file.path);
    if ('error' in result) return `files[${index}].path ${result.error}`;
  }
  return null;
}

function normaliseFiles(files: TaskFile[]): TaskFile[] {
  return files.map((file) => {
    const result = normaliseWorkspacePath(file.path);
    if ('error' in result) throw new Error(`unchecked path ${file.path}`);
    return { path: result.path, content: file.content };
  });
}

export function mergeFiles(base: TaskFile[], updates: TaskFile[]): TaskFile[] {
  const merged = new Map(base.map((file) => [file.path, file.content]));
  for (const file of updates) merged.set(file.path, file.content);
  return [...merged].map(([path, content]) => ({ path, content })).sort((a, b) => a.path.localeCompare(b.path));
}

function formatIssue(issue: { severity: string; file?: string; line?: number; message: string }): string {
  const where = issue.file ? ` ${issue.file}${issue.line ? `:${issue.line}` : ''}` : '';
  return `- [${issue.severity}]${where} ${issue.message}`;
}

function truncate(text: string): string {
  return text.length > MAX_STORED_OUTPUT
    ? `${text.slice(0, MAX_STORED_OUTPUT)}\n… (${text.length - MAX_STORED_OUTPUT} more characters)`
    : text;
}
