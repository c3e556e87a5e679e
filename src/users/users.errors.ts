import { ConflictError, NotFoundError } from '#src/common/errors.js';

export class EmailTakenError extends ConflictError {
  constructor() {
    super('EMAIL_TAKEN', 'An account with this email already exists.');
  }
}

export class UserNotFoundError extends NotFoundError {
  constructor() {
    super('User', 'USER_NOT_FOUND');
  }
}
