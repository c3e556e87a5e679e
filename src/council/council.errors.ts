import { DomainError } from '#src/common/errors.js';

/** No judge (or fewer than COUNCIL_MIN_JUDGES) could give a verdict: the review cannot decide. */
export class CouncilNoQuorumError extends DomainError {
  constructor(detail: string) {
    super('COUNCIL_NO_QUORUM', `The council could not decide: ${detail}`, 502);
  }
}

/**
 * Two consecutive iterations brought the same files or the same findings: another iteration would
 * not help, so the run stops with `failed`, code STUCK (the council's records keep the details).
 */
export class CouncilStuckError extends DomainError {
  constructor(detail: string) {
    super('STUCK', detail, 422);
  }
}

/** The run exists and is yours, but its council has not reviewed yet (or the run had no council). */
export class CouncilNotFoundError extends DomainError {
  constructor() {
    super('COUNCIL_NOT_FOUND', 'This run has no council review (yet).', 404);
  }
}
