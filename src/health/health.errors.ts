import { DomainError } from '#src/common/errors.js';

/** 503 naming the failing checks, with every check's detail as the `checks` extension. */
export class NotReadyError extends DomainError {
  constructor(failing: string[], checks: Record<string, unknown>) {
    super('NOT_READY', `Not ready: ${failing.join(', ') || 'unknown'} failing.`, 503, { extra: { checks } });
  }
}
