import type Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent,
  TextBlockParam,
  ToolChoice as AnthropicToolChoice,
  ToolUnion,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { ProviderCallError } from '../llm.errors.js';
import type { ChatMessage, FinishReason, LlmUsage, ToolCall, ToolChoice } from '../llm.types.js';
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

interface AnthropicUsageShape {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

const EPHEMERAL = { type: 'ephemeral' } as const;

/** Anthropic messages through the official SDK (`@anthropic-ai/sdk`). */
export class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic' as const;
  private readonly client: () => Promise<Anthropic>;

  constructor(options: { apiKey?: string; baseUrl?: string }) {
    this.client = lazyClient(async () => {
      const { default: Anthropic } = await import('@anthropic-ai/sdk');
      return new Anthropic({
        apiKey: options.apiKey ?? 'missing',
        baseURL: options.baseUrl ?? 'https://api.anthropic.com',
        maxRetries: 0, // the gateway retries
        timeout: 3_600_000, // each call's deadline aborts it through withDeadline's signal
      });
    });
  }

  async prepare(): Promise<void> {
    await this.client();
  }

  /**
   * The SDK's own timeout stops at the response headers (a body or stream could stall after them), so
   * the whole call runs under `withDeadline`.
   */
  call(request: ProviderCallRequest): Promise<ProviderCallResult> {
    return withDeadline(request, (signal) => this.callUntil({ ...request, signal }));
  }

  private async callUntil(request: ProviderCallRequest): Promise<ProviderCallResult> {
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const cache = request.cache;
    const tools: ToolUnion[] | undefined = request.tools?.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: t.parameters as { type: 'object'; [k: string]: unknown },
    }));
    // The order Anthropic caches in is tools → system → messages: a breakpoint on the system
    // prompt covers the tools too; without a system prompt it goes on the last tool.
    const systemBlocks: TextBlockParam[] | undefined = system
      ? [{ type: 'text', text: system, ...(cache?.system ? { cache_control: EPHEMERAL } : {}) }]
      : undefined;
    if (cache?.system && !system && tools?.length)
      tools[tools.length - 1] = { ...tools[tools.length - 1], cache_control: EPHEMERAL };
    const params: MessageCreateParamsBase = {
      model: request.model,
      max_tokens: request.maxTokens,
      messages: toAnthropicMessages(request.messages, new Set(cache?.messages)),
      ...(systemBlocks ? { system: systemBlocks } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(tools?.length
        ? {
            tools,
            ...(request.toolChoice ? { tool_choice: toAnthropicToolChoice(request.toolChoice) } : {}),
          }
        : {}),
    };
    try {
      return request.onDelta ? await this.stream(params, request) : await this.complete(params, request);
    } catch (error) {
      throw classifySdkError(error, request.signal);
    }
  }

  private async complete(params: MessageCreateParamsBase, request: ProviderCallRequest): Promise<ProviderCallResult> {
    const message = await (
      await this.client()
    ).messages.create({ ...params, stream: false }, { signal: request.signal });
    const usage = toUsage(message.usage);
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of message.content ?? []) {
      if (block.type === 'text') text += block.text;
      else if (block.type === 'tool_use')
        toolCalls.push({ id: block.id, name: block.name, arguments: asArguments(block.input, usage) });
    }
    return { text, toolCalls, usage, finishReason: toFinishReason(message.stop_reason) };
  }

  private async stream(params: MessageCreateParamsBase, request: ProviderCallRequest): Promise<ProviderCallResult> {
    const stream = await (await this.client()).messages.create({ ...params, stream: true }, { signal: request.signal });
    let text = '';
    let raw: AnthropicUsageShape = {};
    let stop: string | null = null;
    let finished = false;
    // Content blocks by index: text appends, tool_use collects partial JSON until the block stops.
    const tools = new Map<number, { id: string; name: string; json: string }>();
    try {
      for await (const event of stream as AsyncIterable<RawMessageStreamEvent>) {
        switch (event.type) {
          case 'message_start':
            raw = { ...event.message.usage };
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              tools.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: '' });
            } else if (event.content_block.type === 'text' && event.content_block.text) {
              text += event.content_block.text;
              request.onDelta?.(event.content_block.text);
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') {
              text += event.delta.text;
              request.onDelta?.(event.delta.text);
            } else if (event.delta.type === 'input_json_delta') {
              const tool = tools.get(event.index);
              if (tool) tool.json += event.delta.partial_json;
            }
            break;
          case 'message_delta':
            stop = event.delta.stop_reason ?? stop;
            // Counts in message_delta are cumulative: they replace what message_start said.
            for (const [key, value] of Object.entries(event.usage ?? {})) {
              if (typeof value === 'number') (raw as Record<string, number>)[key] = value;
            }
            break;
          case 'message_stop':
            finished = true;
            break;
        }
      }
    } catch (error) {
      throw withPartialUsage(error, request.signal, toUsage(raw));
    }
    const usage = toUsage(raw);
    // An aborted stream may end the SDK's iteration quietly, as if the answer were complete.
    if (request.signal?.aborted) throw new ProviderCallError('aborted', 'aborted', { usage });
    if (!finished) throw new ProviderCallError('malformed', 'the stream ended before message_stop', { usage });
    const toolCalls = [...tools.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, t]) => ({ id: t.id, name: t.name, arguments: parseToolArguments(t.json, usage) }));
    return { text, toolCalls, usage, finishReason: toFinishReason(stop) };
  }
}

/**
 * System prompts go to `system`; tool results are user turns; consecutive same-role turns merge
 * (the API wants alternation). The last block of each message in `breakpoints` carries
 * `cache_control`: the prompt up to there is cached.
 */
function toAnthropicMessages(messages: ChatMessage[], breakpoints: Set<number>): MessageParam[] {
  const out: { role: 'user' | 'assistant'; content: ContentBlockParam[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    if (breakpoints.has(index) && blocks.length) {
      blocks[blocks.length - 1] = { ...blocks[blocks.length - 1], cache_control: EPHEMERAL } as ContentBlockParam;
    }
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  let index = -1;
  for (const message of messages) {
    index++;
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        push('user', [{ type: 'text', text: message.content }]);
        break;
      case 'assistant':
        push('assistant', [
          ...(message.content ? [{ type: 'text' as const, text: message.content }] : []),
          ...(message.toolCalls ?? []).map((c) => ({
            type: 'tool_use' as const,
            id: c.id,
            name: c.name,
            input: c.arguments,
          })),
        ]);
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
    }
  }
  return out;
}

function toAnthropicToolChoice(choice: ToolChoice): AnthropicToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.name };
}

function asArguments(input: unknown, usage: LlmUsage): Record<string, unknown> {
  if (typeof input === 'string') return parseToolArguments(input, usage);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ProviderCallError('malformed', 'tool_use input is not an object', { usage });
  }
  return input as Record<string, unknown>;
}

/** Anthropic's `input_tokens` exclude cache reads and writes; ours count every prompt token. */
function toUsage(usage: AnthropicUsageShape | null | undefined): LlmUsage {
  if (!usage) return EMPTY_USAGE;
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + cacheRead + cacheWrite,
    outputTokens: usage.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    ...(cacheWrite ? { cacheWriteTokens: cacheWrite } : {}),
  };
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}
