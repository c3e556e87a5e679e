import type { ChatMessage, LlmCallRequest } from './llm.types.js';

/** Anthropic accepts at most four `cache_control` breakpoints per request. */
export const MAX_CACHE_BREAKPOINTS = 4;

/**
 * Where a request's stable prefixes end, for providers that cache by explicit breakpoints
 * (Anthropic). Each index is a message after which the prompt is expected to be sent again
 * unchanged; `system` marks the end of the tools and system prompt.
 */
export interface PromptCachePlan {
  system: boolean;
  /** Indices into `messages` (never system messages), ascending, at most MAX_CACHE_BREAKPOINTS − 1. */
  messages: number[];
}

/**
 * A conversation is expected to continue (a tool loop, or a corrective retry): its prefix is worth
 * writing to the cache. A single forced-tool call without history is not: its prompt is not sent
 * again, and a cache write costs more than plain input (Anthropic: 1.25×).
 */
export function isConversation(request: Pick<LlmCallRequest, 'messages' | 'tools' | 'toolChoice'>): boolean {
  if (request.messages.some((m) => m.role === 'assistant')) return true;
  return typeof request.toolChoice !== 'object' && (request.tools?.length ?? 0) > 1;
}

/**
 * The breakpoints, in order of value: (1) the tools and system prompt, the same for every call of
 * an agent; (2) the leading messages (task, repository instructions, plan) before the first answer;
 * (3) the end of what the previous call of this conversation sent, which that call wrote: this
 * call reads it; (4) the last message, which this call writes for the next one to read. A tool
 * loop therefore pays full price only for each round's new messages.
 */
export function planPromptCache(
  request: Pick<LlmCallRequest, 'messages' | 'tools' | 'toolChoice' | 'promptCache'>,
): PromptCachePlan {
  const messages = request.messages;
  const system = messages.some((m) => m.role === 'system') || (request.tools?.length ?? 0) > 0;
  const mode = request.promptCache ?? (isConversation(request) ? 'conversation' : 'prefix');
  if (mode !== 'conversation') return { system: mode === 'prefix' && system, messages: [] };
  const points = new Set<number>();
  const firstAnswer = messages.findIndex((m) => m.role === 'assistant');
  const lastAnswer = findLastIndex(messages, (m) => m.role === 'assistant');
  const leading = lastNonSystemBefore(messages, firstAnswer === -1 ? messages.length : firstAnswer);
  const previous = lastAnswer === -1 ? -1 : lastNonSystemBefore(messages, lastAnswer);
  const last = lastNonSystemBefore(messages, messages.length);
  for (const index of [leading, previous, last]) if (index !== -1) points.add(index);
  return { system, messages: [...points].sort((a, b) => a - b).slice(-(MAX_CACHE_BREAKPOINTS - 1)) };
}

function lastNonSystemBefore(messages: ChatMessage[], end: number): number {
  for (let i = end - 1; i >= 0; i--) if (messages[i].role !== 'system') return i;
  return -1;
}

function findLastIndex<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}
