import { ConflictError, DomainError, NotFoundError } from '#src/common/errors.js';

export class RunNotFoundError extends NotFoundError {
  constructor() {
    super('Run', 'RUN_NOT_FOUND');
  }
}

export class RunActiveError extends ConflictError {
  constructor() {
    super('RUN_ACTIVE', 'Another run of this task is queued, running or awaiting input.');
  }
}

export class RunNotCancellableError extends ConflictError {
  constructor() {
    super('RUN_NOT_CANCELLABLE', 'The task has no queued, running or waiting run to cancel.');
  }
}

export class RunNotAwaitingInputError extends ConflictError {
  constructor() {
    super('RUN_NOT_AWAITING_INPUT', 'The run is not waiting for input (a plan answer or a budget resume).');
  }
}

/** Back-pressure, all users: more runs wait for a worker than `MAX_QUEUED_RUNS`. */
export class ServerBusyError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super('SERVER_BUSY', 'Too many runs are waiting for a worker; try again later.', 503, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
      extra: { retryAfter: retryAfterSeconds },
      expected: true,
    });
  }
}

/** Back-pressure, one user: the user already has `MAX_QUEUED_RUNS_PER_USER` runs waiting for a worker. */
export class TooManyQueuedRunsError extends DomainError {
  constructor(limit: number, retryAfterSeconds: number) {
    super('TOO_MANY_QUEUED_RUNS', `You already have ${limit} runs waiting for a worker; try again later.`, 429, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
      extra: { retryAfter: retryAfterSeconds, limit },
    });
  }
}
