import { ForbiddenError, UnauthorizedError } from '#src/common/errors.js';

export class InvalidApiKeyError extends UnauthorizedError {
  constructor() {
    super('INVALID_API_KEY', 'The API key is not valid.');
  }
}

export class ApiKeyExpiredError extends UnauthorizedError {
  constructor() {
    super('API_KEY_EXPIRED', 'The API key has expired.');
  }
}

export class ApiKeyRevokedError extends UnauthorizedError {
  constructor() {
    super('API_KEY_REVOKED', 'The API key has been revoked.');
  }
}

/** Account routes (sign-in, sessions, two-factor, keys, deleting the account) need a signed-in person. */
export class ApiKeyNotAllowedError extends ForbiddenError {
  constructor() {
    super('API_KEY_NOT_ALLOWED', 'This route needs a signed-in session; API keys cannot use it.');
  }
}

export class InsufficientScopeError extends ForbiddenError {
  constructor(required: string | null) {
    super(
      'INSUFFICIENT_SCOPE',
      required ? `The API key lacks the scope ${required}.` : 'No API key scope grants this route.',
    );
  }
}
