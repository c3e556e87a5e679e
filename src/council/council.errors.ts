import { DomainError } from '#src/common/errors.js';

/** No judge (or fewer than COUNCIL_MIN_JUDGES) could give a verdict: the review cannot decide. */
export class CouncilNoQuorumError extends DomainError {
  constructor(detail: string) {
    super('COUNCIL_NO_QUORUM', `The council could not decide: ${detail}`, 502);
  }
}
