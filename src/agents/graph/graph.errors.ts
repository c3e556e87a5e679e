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
