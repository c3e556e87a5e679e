import type { RunStep } from './entities/run-step.entity.js';
import type { Run } from './entities/run.entity.js';
import { normaliseUsd } from '#src/metrics/money.js';
import { usageOf } from './runs.service.js';

/** The public shape of a run (API.md "Agent runs"). */
export function toRunView(run: Run, steps?: RunStep[]) {
  return {
    id: run.id,
    taskId: run.taskId,
    status: run.status,
    iteration: run.iteration,
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    error: run.error ?? undefined,
    errorCode: run.errorCode ?? undefined,
    cancelRequested: run.cancelRequested,
    usage: usageOf(run),
    ...(run.status === 'awaiting_input' ? { awaiting: run.awaiting ?? { reason: 'plan' as const } } : {}),
    createdAt: run.createdAt.toISOString(),
    ...(steps ? { steps: steps.map(toStepView) } : {}),
  };
}

export function toStepView(step: RunStep) {
  return {
    id: step.id,
    agent: step.agent,
    iteration: step.iteration,
    model: step.model,
    provider: step.provider,
    status: step.status,
    startedAt: step.startedAt.toISOString(),
    finishedAt: step.finishedAt?.toISOString() ?? null,
    inputTokens: step.inputTokens,
    cachedInputTokens: step.cachedInputTokens,
    outputTokens: step.outputTokens,
    costUsd: normaliseUsd(step.costUsd),
    summary: step.summary,
    error: step.error ?? undefined,
    routing: step.routing ?? undefined,
  };
}

export type RunView = ReturnType<typeof toRunView>;
