import type OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { usdFromNumber } from '#src/metrics/money.js';
import { ProviderCallError } from '../llm.errors.js';
import type { FinishReason, LlmUsage, ProviderName, ToolCall, ToolChoice } from '../llm.types.js';
import {
  classifySdkError,
  EMPTY_USAGE,
  lazyClient,
  withDeadline,
  LlmProvider,
  parseToolArguments,
  ProviderCallRequest,
  ProviderCallResult,
  withPartialUsage,
} from './llm-provider.js';

const DEFAULT_BASE_URLS: Record<OpenAiCompatible, string | undefined> = {
  openai: 'https://api.openai.com/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  local: undefined,
};

type OpenAiCompatible = Extract<ProviderName, 'openai' | 'local' | 'openrouter'>;

/** OpenRouter adds the cost it charged (USD credits) to `usage` when asked to (`usage.include`). */
type UsageWithCost = OpenAI.CompletionUsage & { cost?: number | null };

/**
 * OpenAI chat completions through the official SDK. Also the `local` provider (vLLM, Ollama and
 * llama.cpp serve the same API at their own base URL) and `openrouter` (the same API in front of
 * many vendors; it reports what it charged).
 */
export class OpenAiProvider implements LlmProvider {
  private readonly client: () => Promise<OpenAI>;

  constructor(
    readonly name: OpenAiCompatible,
    options: { apiKey?: string; baseUrl?: string },
  ) {
    this.client = lazyClient(async () => {
      const { default: OpenAI } = await import('openai');
      return new OpenAI({
        apiKey: options.apiKey ?? (name === 'local' ? 'local' : 'missing'),
        baseURL: options.baseUrl ?? DEFAULT_BASE_URLS[name],
        maxRetries: 0, // the gateway retries, with its own policy and metering
        timeout: 3_600_000, // each call passes its own deadline (ProviderCallRequest.timeoutMs)
      });
    });
  }

  async prepare(): Promise<void> {
    await this.client();
  }

  async call(request: ProviderCallRequest): Promise<ProviderCallResult> {
    const params: ChatCompletionCreateParamsBase = {
      model: request.model,
      messages: request.messages.map(toOpenAiMessage),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      // Local servers (Ollama, llama.cpp) know only the older name.
      ...(this.name === 'local' ? { max_tokens: request.maxTokens } : { max_completion_tokens: request.maxTokens }),
      ...(request.tools?.length
        ? {
            tools: request.tools.map((t) => ({
              type: 'function' as const,
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
            ...(request.toolChoice ? { tool_choice: toOpenAiToolChoice(request.toolChoice) } : {}),
          }
        : {}),
      // OpenAI caches prompt prefixes on its own; the key keeps one conversation's calls on one cache.
      ...(this.name === 'openai' && request.cacheKey ? { prompt_cache_key: request.cacheKey } : {}),
      ...(this.name === 'openrouter' ? ({ usage: { include: true } } as object) : {}),
    };
    if (request.onDelta) {
      return withDeadline(request, (signal) =>
        this.stream(params, request, signal).catch((error: unknown) => {
          throw classifySdkError(error, signal);
        }),
      );
    }
    const started = performance.now();
    try {
      return await this.complete(params, request);
    } catch (error) {
      const classified = classifySdkError(error, request.signal);
      // Still unanswered at its deadline: a timeout, however the SDK words it (its timeout error is
      // a plain `Error` by name, and under jest's vm modules its abort checks fail across realms).
      if (classified.kind === 'network' && performance.now() - started >= request.timeoutMs) {
        throw new ProviderCallError('timeout', `no answer within ${request.timeoutMs} ms`, { cause: error });
      }
      throw classified;
    }
  }

  /**
   * The SDK's per-request timeout bounds a non-streamed call to the end of its body, so the
   * caller's signal is passed as it is: a signal of our own would make the SDK compose the two
   * (AbortSignal.any) on every call, a measurable share of a fast call's cost.
   */
  private async complete(
    params: ChatCompletionCreateParamsBase,
    request: ProviderCallRequest,
  ): Promise<ProviderCallResult> {
    const response = await (
      await this.client()
    ).chat.completions.create({ ...params, stream: false }, { signal: request.signal, timeout: request.timeoutMs });
    const usage = toUsage(response.usage);
    const choice = response.choices?.[0];
    if (!choice?.message) throw new ProviderCallError('malformed', 'the answer has no choices', { usage });
    const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((call) =>
      call.type === 'function'
        ? [{ id: call.id, name: call.function.name, arguments: parseToolArguments(call.function.arguments, usage) }]
        : [],
    );
    return {
      text: choice.message.content ?? '',
      toolCalls,
      usage,
      finishReason: toFinishReason(choice.finish_reason),
      reportedCostUsd: reportedCost(response.usage),
    };
  }

  private async stream(
    params: ChatCompletionCreateParamsBase,
    request: ProviderCallRequest,
    signal: AbortSignal,
  ): Promise<ProviderCallResult> {
    const stream = await (
      await this.client()
    ).chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal });
    let text = '';
    let usage: LlmUsage = EMPTY_USAGE;
    let reportedCostUsd: string | undefined;
    let finish: string | null = null;
    // Tool calls arrive in pieces keyed by `index`: the first piece has id and name, later ones append arguments.
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    try {
      for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
        if (chunk.usage) {
          usage = toUsage(chunk.usage);
          reportedCostUsd = reportedCost(chunk.usage);
        }
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          text += delta.content;
          request.onDelta?.(delta.content);
        }
        for (const piece of delta?.tool_calls ?? []) {
          const call = calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
          if (piece.id) call.id = piece.id;
          if (piece.function?.name) call.name += piece.function.name;
          if (piece.function?.arguments) call.arguments += piece.function.arguments;
          calls.set(piece.index, call);
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    } catch (error) {
      throw withPartialUsage(error, signal, usage);
    }
    // An aborted stream ends the SDK's iteration quietly, as if the answer were complete.
    if (signal.aborted) throw new ProviderCallError('aborted', 'aborted', { usage });
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({
        id: call.id || `call_${index}`,
        name: call.name,
        arguments: parseToolArguments(call.arguments, usage),
      }));
    if (finish === null)
      throw new ProviderCallError('malformed', 'the stream ended without a finish reason', { usage });
    return { text, toolCalls, usage, finishReason: toFinishReason(finish), reportedCostUsd };
  }
}

function toOpenAiMessage(message: ProviderCallRequest['messages'][number]): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: JSON.stringify(c.arguments) },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toOpenAiToolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function toUsage(usage: OpenAI.CompletionUsage | null | undefined): LlmUsage {
  if (!usage) return EMPTY_USAGE;
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

/** OpenRouter's `usage.cost` (a JSON number of USD) as an exact decimal string, or undefined. */
function reportedCost(usage: UsageWithCost | null | undefined): string | undefined {
  const cost = usage?.cost;
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) return undefined;
  return usdFromNumber(cost);
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}
