import { DomainError } from '#src/common/errors.js';

export class SandboxUnavailableError extends DomainError {
  constructor(message: string) {
    super('SANDBOX_UNAVAILABLE', message, 503);
  }
}
