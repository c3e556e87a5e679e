import { DomainError } from '#src/common/errors.js';

/** The call's worst-case cost does not fit in what is left of the user's monthly budget. */
export class BudgetExceededError extends DomainError {
  constructor(detail: { limitUsd: string; spentUsd: string; reservedUsd: string; requiredUsd: string }) {
    super('BUDGET_EXCEEDED', 'The monthly LLM budget does not cover this call.', 402, { extra: detail });
  }
}
