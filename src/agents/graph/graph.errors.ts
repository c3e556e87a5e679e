import type { Run } from '#src/agents/runs/entities/run.entity.js';
import { DomainError } from '#src/common/errors.js';

/** A step that cannot produce its answer; the run fails with this code. */
export class AgentStepError extends DomainError {
  constructor(
    code: 'AGENT_NO_TOOL_CALL' | 'AGENT_TIMEOUT' | 'AGENT_CALL_FAILED' | 'SANDBOX_FAILED' | 'STUCK',
    message: string,
  ) {
    super(code, message, 500);
  }
}

/**
 * The worker is shutting down (a deploy, a scale-in): the run is handed to another worker, which
 * continues it from its checkpoint. Not a failure: nothing about the run is recorded as ended.
 */
export class RunInterruptedError extends Error {
  constructor() {
    super('The worker is shutting down; the run continues on another worker.');
    this.name = 'RunInterruptedError';
  }
}

/**
 * Whether this failure is the hand-over of a shutting-down worker. A step then writes nothing: its
 * row stays `running` and the worker that continues the run closes it as `interrupted`, exactly as
 * after a crash, so what the step cost is counted once.
 */
export function isInterruption(signal: AbortSignal, error?: unknown): boolean {
  return error instanceof RunInterruptedError || (signal.aborted && signal.reason instanceof RunInterruptedError);
}

/** The user cancelled the run: the abort reason of its signal. */
export class CancelledRunError extends Error {
  constructor() {
    super('The run was cancelled.');
    this.name = 'CancelledRunError';
  }
}

/** How a step that threw ends: `cancelled` when the run's cancel aborted it, else `failed`. */
export function endedStepStatus(signal: AbortSignal): 'cancelled' | 'failed' {
  return signal.aborted && signal.reason instanceof CancelledRunError ? 'cancelled' : 'failed';
}

/**
 * Whether this failure pauses the run instead of ending it: a limit refused a model call and the
 * task says `onBudgetExceeded: "pause"`. The step then is not a failure: the run waits in
 * `awaiting_input` with its checkpoint and continues from there once resumed.
 */
export function pausesForBudget(run: Pick<Run, 'input'>, error: unknown): error is DomainError {
  return (
    error instanceof DomainError && error.code === 'BUDGET_EXCEEDED' && run.input.config.onBudgetExceeded === 'pause'
  );
}
