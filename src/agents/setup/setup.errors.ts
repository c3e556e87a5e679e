import { DomainError } from '#src/common/errors.js';

/** The repository's environment setup failed: the run fails with the command's output tail. */
export class SetupFailedError extends DomainError {
  constructor(
    readonly command: string,
    reason: string,
    readonly outputTail: string,
  ) {
    super('SETUP_FAILED', `The environment setup \`${command}\` ${reason}. Its output ended with:\n${outputTail}`, 422);
  }
}
