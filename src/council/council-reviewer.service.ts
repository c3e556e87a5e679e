import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  CouncilReviewer,
  type JudgeVerdict,
  type ReviewHooks,
  type ReviewOutcome,
  type ReviewRequest,
  type StepHandle,
} from '#src/agents/graph/review.port.js';
import { withInstructions } from '#src/agents/graph/repository-instructions.js';
import type { ChatMessage, LlmUsage } from '#src/agents/llm/llm.types.js';
import { endedStepStatus, isInterruption } from '#src/agents/graph/graph.errors.js';
import { DomainError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { aggregate, type AggregateResult, mergeIssues } from './aggregate.js';
import { CouncilLlm, type ResolvedModel } from './council-llm.port.js';
import { buildCouncilGraph, runCouncilGraph } from './council-graph.js';
import { CouncilRecordsService, type RunScope } from './council-records.service.js';
import { CouncilNoQuorumError, CouncilStuckError } from './council.errors.js';
import { estimateTokens, planCouncilCost } from './cost-plan.js';
import { type JudgeDefinition, judgeModelOverride, judgeUserMessage, seatJudges } from './judges.js';
import { addMoney, normaliseUsd } from '#src/metrics/money.js';
import {
  correctiveMessage,
  extractSubmitReview,
  SUBMIT_REVIEW_TOOL,
  SUBMIT_REVIEW_TOOL_NAME,
} from '#src/agents/graph/review-tool.js';
import { detectStuck, filesHash, findingsHash, type IterationFingerprint, type StuckCause } from './stuck.js';

interface Seat {
  judge: string;
  index: number;
  definition: JudgeDefinition;
  /** Per-task override (`config.models`), passed to the gateway as is. */
  override?: string;
  resolved?: ResolvedModel;
}

interface Review {
  request: ReviewRequest;
  hooks: ReviewHooks;
  scope: RunScope;
  userMessage: string;
  filesHash: string;
  /** Errors that ended judges, for the decision when nobody could vote. */
  errors: unknown[];
  /**
   * Steps of judges the budget refused, under `pauseOnBudget`: closed as failed once the council
   * decides without them, or as interrupted when the run pauses instead.
   */
  refusedSteps: Array<(status: 'failed' | 'interrupted') => Promise<void>>;
}

const isBudgetRefusal = (error: unknown): error is DomainError =>
  error instanceof DomainError && error.code === 'BUDGET_EXCEEDED';

const ZERO_USAGE: LlmUsage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };

/**
 * The council of judges behind `CouncilReviewer`: seats the judges, plans the cost cap, runs them in
 * parallel (a LangGraph fan-out), aggregates their verdicts, detects a stuck run, records every judge
 * and the aggregate, and reports `council.completed`.
 */
@Injectable()
export class CouncilReviewerService extends CouncilReviewer {
  private readonly logger = new Logger(CouncilReviewerService.name);
  private readonly graph = buildCouncilGraph();

  constructor(
    private readonly llm: CouncilLlm,
    private readonly records: CouncilRecordsService,
    private readonly config: ConfigService<AllConfig, true>,
  ) {
    super();
  }

  async review(request: ReviewRequest, hooks: ReviewHooks): Promise<ReviewOutcome> {
    const council = this.config.get('council', { infer: true });
    const scope: RunScope = {
      userId: request.userId,
      taskId: request.taskId,
      runId: request.runId,
      iteration: request.iteration,
    };
    const currentFiles = filesHash(request.files);
    const review: Review = {
      request,
      hooks,
      scope,
      userMessage: judgeUserMessage(request),
      filesHash: currentFiles,
      errors: [],
      refusedSteps: [],
    };
    const seats: Seat[] = seatJudges(request.judges.length ? request.judges : council.judges).map(
      (definition, index) => ({
        judge: definition.name,
        index,
        // The repository's own instructions (AGENTS.md…) reach every judge, as every agent.
        definition: { ...definition, systemPrompt: withInstructions(definition.systemPrompt, request.instructions) },
        override: judgeModelOverride(definition.name, request.models),
      }),
    );
    const previous =
      council.stuckDetection && request.mode === 'build'
        ? await this.records.previousFingerprint(request.runId, request.iteration)
        : undefined;

    // The same files as the iteration before: the judges would repeat themselves; do not pay them again.
    const sameFiles = previous && previous.iteration === request.iteration - 1 && previous.filesHash === currentFiles;
    const skipped = new Map<string, string>();
    const answered = sameFiles ? [] : await this.records.answeredJudges(request.runId, request.iteration, currentFiles);
    const reused = new Set(answered.map((j) => j.judge));
    if (sameFiles) {
      for (const seat of seats)
        skipped.set(seat.judge, `not convened: the files are the same as in iteration ${previous.iteration}`);
    } else {
      for (const seat of seats) seat.resolved = this.resolve(seat);
      const cap = request.councilMaxCostUsd ?? council.maxCostUsd;
      if (cap !== undefined) {
        const spent = addMoney(
          await this.records.spentInRun(request.runId, request.iteration),
          ...answered.map((j) => j.costUsd ?? '0'),
        );
        const plan = planCouncilCost(
          seats
            .filter((seat) => !reused.has(seat.judge))
            .map((seat) => ({
              judge: seat.judge,
              // An unroutable judge costs nothing: its call fails before any spend.
              worstCaseUsd: seat.resolved
                ? this.llm.worstCaseUsd(
                    seat.resolved,
                    estimateTokens(seat.definition.systemPrompt) + estimateTokens(review.userMessage),
                    council.judgeMaxTokens,
                  )
                : '0',
            })),
          cap,
          spent,
        );
        for (const s of plan.skipped) skipped.set(s.judge, s.reason);
      }
    }

    const skippedVerdicts = await Promise.all(
      seats
        .filter((seat) => skipped.has(seat.judge))
        .map((seat) => this.skipJudge(review, seat, skipped.get(seat.judge)!, currentFiles)),
    );
    const preDecided = [...skippedVerdicts, ...answered.filter((j) => seats.some((seat) => seat.judge === j.judge))];
    if (answered.length)
      this.logger.log(
        `run ${request.runId} iteration ${request.iteration}: reusing the answers of ${[...reused].join(', ')}`,
      );
    const running = seats.filter((seat) => !skipped.has(seat.judge) && !reused.has(seat.judge));
    const seatOf = new Map(seats.map((seat) => [seat.judge, seat.index]));

    return runCouncilGraph(
      this.graph,
      running,
      {
        runJudge: (seat) => this.runJudge(review, seat),
        finish: (verdicts) =>
          this.finish(
            review,
            [...preDecided, ...verdicts].sort((a, b) => seatOf.get(a.judge)! - seatOf.get(b.judge)!),
            { iteration: request.iteration, filesHash: currentFiles, findingsHash: '', hasFindings: false },
            previous,
            sameFiles ? 'SAME_FILES' : undefined,
          ),
      },
      request.signal,
    );
  }

  private resolve(seat: Seat): ResolvedModel | undefined {
    try {
      return this.llm.resolveModel(seat.definition.agent, seat.override);
    } catch {
      // An unknown model fails this judge's call with the gateway's own error; the plan prices nothing.
      return undefined;
    }
  }

  private async skipJudge(review: Review, seat: Seat, reason: string, filesHash: string): Promise<JudgeVerdict> {
    const verdict: JudgeVerdict = {
      judge: seat.judge,
      ...(seat.resolved ? { provider: seat.resolved.provider, model: seat.resolved.model } : {}),
      status: 'skipped',
      summary: `Skipped: ${reason}`,
      issues: [],
      inputTokens: 0,
      outputTokens: 0,
      costUsd: '0',
    };
    const step = await review.hooks.startStep(seat.definition.agent, seat.resolved ?? {});
    await review.hooks.finishStep(step, {
      status: 'skipped',
      summary: verdict.summary,
      costUsd: '0',
      usage: ZERO_USAGE,
    });
    await this.records.saveJudgeReview(
      review.scope,
      { ...verdict, issues: [] },
      { seat: seat.index, filesHash, stepId: step.stepId },
    );
    return verdict;
  }

  private async runJudge(review: Review, seat: Seat): Promise<JudgeVerdict> {
    const { request, hooks } = review;
    const started = Date.now();
    const step: StepHandle = await hooks.startStep(seat.definition.agent, seat.resolved ?? {});
    // A judge that hangs fails alone at the agent step timeout; the run's signal still cancels them all.
    const signal = AbortSignal.any([
      request.signal,
      AbortSignal.timeout(this.config.get('agents', { infer: true }).stepTimeoutMs),
    ]);
    const usage: LlmUsage = { ...ZERO_USAGE };
    let costUsd = '0';
    let provider = seat.resolved?.provider;
    let model = seat.resolved?.model;
    let verdict: JudgeVerdict;
    let refusedByBudget = false;
    try {
      const messages: ChatMessage[] = [
        { role: 'system', content: seat.definition.systemPrompt },
        { role: 'user', content: review.userMessage },
      ];
      let lastError = '';
      let answer: JudgeVerdict | undefined;
      for (let attempt = 1; attempt <= 2 && !answer; attempt++) {
        const result = await this.llm.call({
          context: {
            userId: request.userId,
            ...request.budget,
            agent: seat.definition.agent,
            taskId: request.taskId,
            runId: request.runId,
            stepId: step.stepId,
          },
          ...(seat.override ? { model: seat.override } : {}),
          messages,
          tools: [SUBMIT_REVIEW_TOOL],
          toolChoice: { name: SUBMIT_REVIEW_TOOL_NAME },
          temperature: 0,
          maxTokens: this.config.get('council', { infer: true }).judgeMaxTokens,
          latencySloMs: request.latencySloMs,
          signal,
        });
        usage.inputTokens += result.usage.inputTokens;
        usage.outputTokens += result.usage.outputTokens;
        usage.cachedInputTokens += result.usage.cachedInputTokens;
        costUsd = addMoney(costUsd, result.costUsd);
        provider = result.provider;
        model = result.model;
        const parsed = extractSubmitReview(result.toolCalls);
        if (parsed.ok) {
          answer = {
            judge: seat.judge,
            status: 'completed',
            ...parsed.review,
            issues: parsed.review.issues.map((issue) => ({ ...issue, judge: seat.judge })),
          };
          break;
        }
        lastError = parsed.error;
        messages.push({
          role: 'assistant',
          content: result.text,
          ...(result.toolCalls.length ? { toolCalls: result.toolCalls } : {}),
        });
        for (const call of result.toolCalls) {
          messages.push({
            role: 'tool',
            toolCallId: call.id,
            name: call.name,
            content: `Not accepted: ${parsed.error}`,
          });
        }
        messages.push({ role: 'user', content: correctiveMessage(parsed.error) });
      }
      verdict = answer ?? {
        judge: seat.judge,
        status: 'failed',
        summary: `No valid ${SUBMIT_REVIEW_TOOL_NAME} answer after a corrective retry.`,
        issues: [],
        error: `INVALID_TOOL_CALL: ${lastError}`,
      };
    } catch (error) {
      if (request.signal.aborted) {
        // A hand-over leaves the step open for the next worker; a cancel closes it as cancelled.
        if (!isInterruption(request.signal, error))
          await hooks.finishStep(step, {
            status: endedStepStatus(request.signal),
            usage,
            costUsd: normaliseUsd(costUsd),
            summary: `${seat.judge} stopped`,
            error: (error as Error)?.message ?? String(error),
          });
        throw error;
      }
      review.errors.push(error);
      refusedByBudget = isBudgetRefusal(error);
      const code = error instanceof DomainError ? error.code : 'LLM_CALL_FAILED';
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(`judge ${seat.judge} of run ${request.runId} failed: ${code} ${message}`);
      verdict = {
        judge: seat.judge,
        status: 'failed',
        summary: `Failed: ${message}`,
        issues: [],
        error: `${code}: ${message}`,
      };
    }
    verdict = {
      ...verdict,
      ...(provider ? { provider } : {}),
      ...(model ? { model } : {}),
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      costUsd: normaliseUsd(costUsd),
    };
    const closeStep = (status: JudgeVerdict['status'] | 'interrupted' = verdict.status) =>
      hooks.finishStep(step, {
        status,
        usage,
        costUsd: verdict.costUsd,
        summary:
          status === 'interrupted'
            ? `${seat.definition.agent} paused: budget`
            : verdict.status === 'completed'
              ? `${verdict.verdict}: ${verdict.summary}`
              : verdict.summary,
        ...(verdict.error ? { error: verdict.error } : {}),
      });
    if (refusedByBudget && request.pauseOnBudget) review.refusedSteps.push(closeStep);
    else await closeStep();
    await this.records.saveJudgeReview(
      review.scope,
      { ...verdict, issues: mergeIssues([verdict]) },
      { seat: seat.index, filesHash: review.filesHash, stepId: step.stepId, latencyMs: Date.now() - started },
    );
    return verdict;
  }

  private async finish(
    review: Review,
    judges: JudgeVerdict[],
    fingerprint: IterationFingerprint,
    previous: IterationFingerprint | undefined,
    preStuck: StuckCause | undefined,
  ): Promise<ReviewOutcome> {
    const { request, hooks } = review;
    const council = this.config.get('council', { infer: true });
    let result: AggregateResult = aggregate(judges, council.aggregation, request.tests);
    const refusal = review.errors.find(isBudgetRefusal);
    // Nobody could decide because the budget refused them, and the task pauses on its budget:
    // nothing is decided or announced; the run waits and convenes the refused judges again.
    const pausing = result.verdict === null && refusal !== undefined && request.pauseOnBudget === true;
    for (const close of review.refusedSteps.splice(0)) await close(pausing ? 'interrupted' : 'failed');
    if (pausing) throw refusal;
    const current: IterationFingerprint = {
      ...fingerprint,
      findingsHash: findingsHash(result.issues),
      hasFindings: result.issues.length > 0,
    };
    const stuck =
      preStuck ??
      (council.stuckDetection && request.mode === 'build' && result.verdict !== 'APPROVE'
        ? detectStuck(previous, current)
        : undefined);
    if (stuck) {
      const what = stuck === 'SAME_FILES' ? 'the same files' : 'the same findings';
      result = {
        ...result,
        verdict: 'REJECT',
        reason: 'STUCK',
        dissent: [],
        summary: `STUCK: iteration ${request.iteration} brought ${what} as iteration ${previous?.iteration}; further iterations would not help. ${result.summary}`,
      };
      if (stuck === 'SAME_FILES' && previous) {
        // Nobody re-reviewed identical files: carry the last findings forward so the result still says what is wrong.
        const last = await this.records.latestVerdict(request.runId);
        if (last && last.iteration === previous.iteration)
          result = { ...result, issues: last.issues, ...(last.score !== null ? { score: last.score } : {}) };
      }
    }
    const costUsd = addMoney(...judges.map((j) => j.costUsd ?? '0'));
    await this.records.saveVerdict({ ...review.scope, mode: request.mode }, result, current, stuck, costUsd);
    await hooks.emit('council.completed', {
      taskId: request.taskId,
      runId: request.runId,
      iteration: request.iteration,
      mode: request.mode,
      verdict: result.verdict,
      reason: result.reason,
      ...(result.vetoedBy ? { vetoedBy: result.vetoedBy } : {}),
      summary: result.summary,
      score: result.score ?? null,
      votes: result.votes,
      dissent: result.dissent,
      issues: result.issues,
      judges: judges.map((j) => ({
        judge: j.judge,
        status: j.status,
        verdict: j.verdict ?? null,
        summary: j.summary,
        score: j.score ?? null,
        issues: j.issues,
        provider: j.provider ?? null,
        model: j.model ?? null,
        inputTokens: j.inputTokens ?? 0,
        outputTokens: j.outputTokens ?? 0,
        costUsd: normaliseUsd(j.costUsd ?? '0'),
        ...(j.error ? { error: j.error } : {}),
      })),
      costUsd: normaliseUsd(costUsd),
    });

    if (result.verdict === null) {
      if (refusal) throw refusal;
      throw new CouncilNoQuorumError(result.summary);
    }
    // Failing the run is the graph's answer to any review error; STUCK must stop it, not revise again.
    if (result.reason === 'STUCK') throw new CouncilStuckError(result.summary);
    return {
      verdict: result.verdict,
      summary: result.summary,
      issues: result.issues,
      ...(result.score !== undefined ? { score: result.score } : {}),
      council: { verdict: result.verdict, judges, reason: result.reason },
    };
  }
}
