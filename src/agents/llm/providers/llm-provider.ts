import { kindOfStatus, parseRetryAfter, ProviderCallError } from '../llm.errors.js';
import type { PromptCachePlan } from '../prompt-cache.js';
import type {
  ChatMessage,
  FinishReason,
  LlmUsage,
  ProviderName,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../llm.types.js';

/** One attempt against one provider: what an adapter receives (routing, budget and retries are done). */
export interface ProviderCallRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  temperature?: number;
  maxTokens: number;
  /** The caller's abort (a cancelled run), when it has one. */
  signal?: AbortSignal;
  /** The attempt's deadline (LLM_TIMEOUT_MS); when it passes, the adapter ends the call with a `timeout`. */
  timeoutMs: number;
  onDelta?: (text: string) => void;
  /** Anthropic: where to put `cache_control` breakpoints (others cache stable prefixes on their own). */
  cache?: PromptCachePlan;
  /** OpenAI: `prompt_cache_key`, so calls sharing a prefix reach the same cache. */
  cacheKey?: string;
}

/**
 * Runs `call` with one signal that fires on the caller's abort and at the request's deadline; an
 * abort caused by the deadline is reported as a `timeout`. For SDK calls whose own timeout does not
 * bound the whole call (a stream can stall after its headers). `call` classifies its errors
 * against the signal it is given.
 */
export async function withDeadline<T>(
  request: Pick<ProviderCallRequest, 'signal' | 'timeoutMs'>,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, request.timeoutMs);
  const caller = request.signal;
  const onAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(controller.signal);
  } catch (error) {
    if (timedOut && error instanceof ProviderCallError && error.kind === 'aborted') {
      throw new ProviderCallError('timeout', `no answer within ${request.timeoutMs} ms`, {
        usage: error.details.usage,
      });
    }
    throw error;
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onAbort);
  }
}

export interface ProviderCallResult {
  text: string;
  toolCalls: ToolCall[];
  usage: LlmUsage;
  finishReason: FinishReason;
  /** The cost the provider itself reported (OpenRouter's `usage.cost`), exact USD; else priced from the table. */
  reportedCostUsd?: string;
}

/** An adapter over one official SDK. Adapters never retry (the gateway does) and throw `ProviderCallError`. */
export interface LlmProvider {
  readonly name: ProviderName;
  call(request: ProviderCallRequest): Promise<ProviderCallResult>;
  /** Imports the SDK and builds the client now instead of on the first call. */
  prepare(): Promise<void>;
}

export const EMPTY_USAGE: LlmUsage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };

interface SdkErrorShape {
  name?: string;
  message?: string;
  status?: unknown;
  headers?: unknown;
}

/** Maps an error of the openai / anthropic / genai SDKs (same shapes: status + headers) to a `ProviderCallError`. */
export function classifySdkError(error: unknown, signal: AbortSignal | undefined): ProviderCallError {
  if (error instanceof ProviderCallError) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const message = e.message ?? String(error);
  if (signal?.aborted || e.name === 'AbortError' || e.name === 'APIUserAbortError') {
    return new ProviderCallError('aborted', 'aborted', { cause: error });
  }
  if (typeof e.name === 'string' && /Timeout/.test(e.name))
    return new ProviderCallError('timeout', message, { cause: error });
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status === undefined) {
    if (error instanceof SyntaxError) return new ProviderCallError('malformed', message, { cause: error });
    return new ProviderCallError('network', message, { cause: error });
  }
  const headers = e.headers as { get?: (name: string) => string | null } | Record<string, string> | undefined;
  const get = (name: string): string | null | undefined =>
    headers && typeof (headers as { get?: unknown }).get === 'function'
      ? (headers as { get: (n: string) => string | null }).get(name)
      : (headers as Record<string, string> | undefined)?.[name];
  return new ProviderCallError(kindOfStatus(status), message, {
    status,
    retryAfterMs: parseRetryAfter(get),
    cause: error,
  });
}

/**
 * A stream that breaks after the provider started answering is billed for what it sent: keep the
 * usage seen so far (Anthropic reports input tokens in message_start) on the classified error.
 */
export function withPartialUsage(
  error: unknown,
  signal: AbortSignal | undefined,
  usage: LlmUsage | undefined,
): ProviderCallError {
  const classified = classifySdkError(error, signal);
  if (classified.details.usage || !usage || (usage.inputTokens === 0 && usage.outputTokens === 0)) return classified;
  return new ProviderCallError(classified.kind, classified.message, { ...classified.details, usage });
}

/** Tool-call arguments arrive as JSON text; anything but a JSON object is a malformed answer. */
export function parseToolArguments(raw: string, usage: LlmUsage): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ProviderCallError('malformed', 'tool call arguments are not valid JSON', { usage });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProviderCallError('malformed', 'tool call arguments are not a JSON object', { usage });
  }
  return parsed as Record<string, unknown>;
}

/**
 * The SDK client, imported and built on the first call. An API process that never calls a model
 * then never loads the SDKs (each is megabytes of code resident for the process's life). A failed
 * import is tried again on the next call.
 */
export function lazyClient<T>(build: () => Promise<T>): () => Promise<T> {
  let client: Promise<T> | undefined;
  return () =>
    (client ??= build().catch((error: unknown) => {
      client = undefined;
      throw error;
    }));
}
