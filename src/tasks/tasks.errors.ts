import { ConflictError, DomainError, NotFoundError } from '#src/common/errors.js';

export class TaskNotFoundError extends NotFoundError {
  constructor() {
    super('Task', 'TASK_NOT_FOUND');
  }
}

export class TaskHasNoRunError extends NotFoundError {
  constructor() {
    super('Run of this task', 'RUN_NOT_FOUND');
  }
}

export class IdempotencyConflictError extends ConflictError {
  constructor() {
    super('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used with a different request.');
  }
}

export class InvalidIdempotencyKeyError extends DomainError {
  constructor() {
    super('VALIDATION_FAILED', 'The Idempotency-Key header must be 1..255 visible ASCII characters.', 400, {
      errors: [{ field: 'Idempotency-Key', message: 'must be 1..255 visible ASCII characters' }],
    });
  }
}

/** No configured provider can serve the task's model routes: a run would only fail with LLM_UNAVAILABLE. */
export class NoProviderError extends DomainError {
  constructor(message: string) {
    super('NO_PROVIDER', message, 422);
  }
}
