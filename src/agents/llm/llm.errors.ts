import { DomainError } from '#src/common/errors.js';
import type { LlmUsage, ProviderName } from './llm.types.js';

// Budgets belong to metrics; the gateway contract names the error here too.
export { BudgetExceededError } from '#src/metrics/metrics.errors.js';

/** A model reference that names an unknown provider or model (configuration or task input). */
export class UnknownModelError extends DomainError {
  constructor(ref: string, reason: string) {
    super('UNKNOWN_MODEL', `Model "${ref}" is not usable: ${reason}.`, 400, {
      errors: [{ field: 'model', message: reason }],
      extra: { model: ref },
    });
  }
}

/** Every provider on the route failed or is unavailable (open circuit, retries spent). */
export class LlmUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly attempts: { provider: ProviderName; model: string; error: string }[],
  ) {
    super('LLM_UNAVAILABLE', message, 503, { extra: { attempts } });
  }
}

/**
 * The provider refused the call and retrying cannot help: the request itself (400/422, no fallback
 * either: another provider would refuse it too), or every target on the route refused its key or
 * model (401/403/404, see `ProviderCallError.fallsBack`).
 */
export class LlmRequestRejectedError extends DomainError {
  constructor(provider: ProviderName, upstreamStatus: number | undefined, message: string) {
    super('LLM_REQUEST_REJECTED', `${provider} rejected the request: ${message}`, 502, {
      extra: { provider, upstreamStatus },
    });
  }
}

/** No model on the route has a context window that holds the request (estimated before any token is paid). */
export class ContextTooLargeError extends DomainError {
  constructor(estimatedTokens: number, largestWindow: number) {
    super(
      'CONTEXT_TOO_LARGE',
      `The request needs about ${estimatedTokens} tokens (prompt estimate + answer cap), more than the largest context window on its route (${largestWindow}).`,
      422,
      { extra: { estimatedTokens, largestWindow } },
    );
  }
}

export class LlmAbortedError extends DomainError {
  constructor() {
    super('LLM_ABORTED', 'The model call was aborted.', 499);
  }
}

export type ProviderErrorKind =
  | 'rate_limited'
  | 'server'
  | 'network'
  | 'timeout'
  | 'auth'
  | 'not_found'
  | 'invalid_request'
  | 'malformed'
  | 'aborted';

/**
 * What an adapter throws: the SDK error classified. `usage` is set when the provider billed the
 * attempt anyway (e.g. an answer that arrived but could not be parsed).
 */
export class ProviderCallError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; usage?: LlmUsage; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'ProviderCallError';
  }

  get retryable(): boolean {
    return ['rate_limited', 'server', 'network', 'timeout', 'malformed'].includes(this.kind);
  }

  /**
   * Refusals of this provider's key (401/403) or model (404), not of the request: retrying the same
   * target cannot help, but the next target of the route (another provider's key, another model)
   * can serve the same request, so the gateway moves on to it (docs/llm.md, "Resilience").
   */
  get fallsBack(): boolean {
    return this.kind === 'auth' || this.kind === 'not_found';
  }

  /** Failures that say the provider is unhealthy (count towards its circuit breaker). */
  get countsAsOutage(): boolean {
    return ['server', 'network', 'timeout'].includes(this.kind);
  }
}

/** Classifies an HTTP status of a provider's error answer. */
export function kindOfStatus(status: number | undefined): ProviderErrorKind {
  if (status === undefined) return 'network';
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server';
  return 'invalid_request';
}

/** `retry-after` (seconds or HTTP date) or `retry-after-ms`, in milliseconds. */
export function parseRetryAfter(get: (name: string) => string | null | undefined): number | undefined {
  const ms = get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = get('retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
