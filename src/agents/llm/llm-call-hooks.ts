import { Injectable, Logger } from '@nestjs/common';
import type { LlmCallRequest, LlmUsage, ProviderName } from './llm.types.js';
import type { ProviderCallResult } from './providers/llm-provider.js';

/** One finished attempt of a gateway call, as the gateway metered it. */
export interface CompletedLlmAttempt {
  request: LlmCallRequest;
  provider: ProviderName;
  model: string;
  /** 1-based across retries and fallbacks of one gateway call. */
  attempt: number;
  maxTokens: number;
  startedAt: number;
  latencyMs: number;
  usage: LlmUsage;
  costUsd: string;
  result?: ProviderCallResult;
  error?: { kind: string; message: string; status?: number };
}

export type LlmAttemptListener = (attempt: CompletedLlmAttempt) => void;

/**
 * The one place every model call of the gateway reports to once it completed (success or not):
 * trajectories and traces listen here instead of reaching into the gateway. Listeners run
 * synchronously on the call's path, so each must only take note and do its work later; a
 * listener that throws is logged and never fails the call.
 */
@Injectable()
export class LlmCallHooks {
  private readonly logger = new Logger(LlmCallHooks.name);
  private readonly listeners: LlmAttemptListener[] = [];

  onAttemptCompleted(listener: LlmAttemptListener): void {
    this.listeners.push(listener);
  }

  attemptCompleted(attempt: CompletedLlmAttempt): void {
    for (const listener of this.listeners) {
      try {
        listener(attempt);
      } catch (error) {
        this.logger.warn({ err: error }, 'an LLM call listener failed');
      }
    }
  }
}
