import { DomainError } from '#src/common/errors.js';

/** The call's worst-case cost does not fit in what is left of one of the limits that apply to it. */
export class BudgetExceededError extends DomainError {
  constructor(
    readonly detail: {
      /** Which limit: the user's, the organization's, the member's, the API key's or the task's. */
      scope: 'user' | 'org' | 'member' | 'apiKey' | 'task';
      scopeId: string;
      limitUsd: string;
      spentUsd: string;
      reservedUsd: string;
      requiredUsd: string;
    },
  ) {
    super('BUDGET_EXCEEDED', `The ${LABELS[detail.scope]} LLM budget does not cover this call.`, 402, {
      extra: detail,
    });
  }
}

const LABELS = {
  user: 'monthly',
  org: "organization's monthly",
  member: "organization's per-member monthly",
  apiKey: "API key's monthly",
  task: "task's",
} as const;
