/**
 * Domain errors carry a stable UPPER_SNAKE code; the global problem-details filter maps the code
 * to an HTTP status. Services throw these, never HttpException.
 */
export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
      /** A 5xx the service answers on purpose (back-pressure) and logs itself: no error log with a stack. */
      expected?: boolean;
    } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailedError extends DomainError {
  constructor(errors: FieldError[], message = 'The request is not valid.') {
    super('VALIDATION_FAILED', message, 400, { errors });
  }
}

export class NotFoundError extends DomainError {
  constructor(what = 'Resource', code = 'NOT_FOUND') {
    super(code, `${what} not found.`, 404);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string) {
    super(code, message, 409);
  }
}

export class ForbiddenError extends DomainError {
  constructor(code: string, message: string) {
    super(code, message, 403);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(code = 'UNAUTHENTICATED', message = 'Authentication is required.') {
    super(code, message, 401);
  }
}

export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number, message = 'Too many requests; try again later.') {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super('RATE_LIMITED', message, 429, {
      headers: { 'Retry-After': String(seconds) },
      extra: { retryAfter: seconds },
    });
  }
}
