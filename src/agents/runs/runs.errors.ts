import { ConflictError, NotFoundError } from '#src/common/errors.js';

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
