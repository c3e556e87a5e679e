import type {
  Content,
  FunctionCallingConfig,
  GenerateContentConfig,
  GenerateContentResponse,
  GoogleGenAI,
  Part,
} from '@google/genai';
import { ProviderCallError } from '../llm.errors.js';
import type { ChatMessage, FinishReason, LlmUsage, ToolCall } from '../llm.types.js';
import {
  classifySdkError,
  EMPTY_USAGE,
  lazyClient,
  LlmProvider,
  ProviderCallRequest,
  ProviderCallResult,
  withDeadline,
  withPartialUsage,
} from './llm-provider.js';

/** Gemini generateContent through the official SDK (`@google/genai`, Gemini API, not Vertex). */
export class GoogleProvider implements LlmProvider {
  readonly name = 'google' as const;
  private readonly client: () => Promise<GoogleGenAI>;

  constructor(options: { apiKey?: string; baseUrl?: string }) {
    this.client = lazyClient(async () => {
      const { GoogleGenAI } = await import('@google/genai');
      return new GoogleGenAI({
        vertexai: false,
        apiKey: options.apiKey ?? 'missing',
        httpOptions: {
          ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
          // No retryOptions: the SDK does not retry then; the gateway does. An explicit fetch keeps the
          // SDK from installing its own undici dispatcher, which it looks up through a global symbol
          // that sandboxed realms (jest's vm contexts) lack; withDeadline bounds the call.
          fetch: (...args: Parameters<typeof fetch>) => fetch(...args),
        },
      });
    });
  }

  async prepare(): Promise<void> {
    await this.client();
  }

  /**
   * The SDK's own timeout cannot be told from a caller's abort, so the whole call runs under
   * `withDeadline`.
   */
  call(request: ProviderCallRequest): Promise<ProviderCallResult> {
    return withDeadline(request, (signal) => this.callUntil({ ...request, signal }));
  }

  private async callUntil(request: ProviderCallRequest): Promise<ProviderCallResult> {
    const system = request.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const config: GenerateContentConfig = {
      abortSignal: request.signal,
      maxOutputTokens: request.maxTokens,
      ...(system ? { systemInstruction: system } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.tools?.length
        ? {
            tools: [
              {
                functionDeclarations: request.tools.map((t) => ({
                  name: t.name,
                  description: t.description,
                  parametersJsonSchema: t.parameters,
                })),
              },
            ],
            ...(request.toolChoice
              ? { toolConfig: { functionCallingConfig: toFunctionCallingConfig(request.toolChoice) } }
              : {}),
          }
        : {}),
    };
    const params = { model: request.model, contents: toContents(request.messages), config };
    try {
      if (!request.onDelta) return toResult([await (await this.client()).models.generateContent(params)]);
      const chunks: GenerateContentResponse[] = [];
      try {
        for await (const chunk of await (await this.client()).models.generateContentStream(params)) {
          chunks.push(chunk);
          for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
            if (part.text && !part.thought) request.onDelta(part.text);
          }
        }
      } catch (error) {
        // Gemini repeats cumulative usage on every chunk: what arrived before the break was billed.
        const seen = chunks.findLast((c) => c.usageMetadata)?.usageMetadata;
        throw withPartialUsage(error, request.signal, seen ? toUsage(seen) : undefined);
      }
      // An aborted stream may end the SDK's iteration quietly, as if the answer were complete.
      if (request.signal?.aborted) {
        const seen = chunks.findLast((c) => c.usageMetadata)?.usageMetadata;
        throw new ProviderCallError('aborted', 'aborted', { usage: seen ? toUsage(seen) : undefined });
      }
      return toResult(chunks);
    } catch (error) {
      const classified = classifySdkError(error, request.signal);
      // Gemini puts the retry delay in the error body (google.rpc.RetryInfo), not in a header.
      const delay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(classified.message);
      if (delay && classified.details.retryAfterMs === undefined) {
        throw new ProviderCallError(classified.kind, classified.message, {
          ...classified.details,
          retryAfterMs: Math.ceil(Number(delay[1]) * 1000),
        });
      }
      throw classified;
    }
  }
}

/** The SDK's FunctionCallingConfigMode values, spelt out so this module loads without the SDK. */
function toFunctionCallingConfig(choice: NonNullable<ProviderCallRequest['toolChoice']>): FunctionCallingConfig {
  const mode = (value: 'AUTO' | 'NONE' | 'ANY') => value as FunctionCallingConfig['mode'];
  if (choice === 'auto') return { mode: mode('AUTO') };
  if (choice === 'none') return { mode: mode('NONE') };
  if (choice === 'required') return { mode: mode('ANY') };
  return { mode: mode('ANY'), allowedFunctionNames: [choice.name] };
}

/** Assistant turns are `model`; tool results are user-turn functionResponse parts; same-role turns merge. */
function toContents(messages: ChatMessage[]): Content[] {
  const out: { role: 'user' | 'model'; parts: Part[] }[] = [];
  const push = (role: 'user' | 'model', parts: Part[]) => {
    const last = out[out.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        push('user', [{ text: message.content }]);
        break;
      case 'assistant':
        push('model', [
          ...(message.content ? [{ text: message.content }] : []),
          ...(message.toolCalls ?? []).map((c) => ({ functionCall: { id: c.id, name: c.name, args: c.arguments } })),
        ]);
        break;
      case 'tool':
        push('user', [
          { functionResponse: { id: message.toolCallId, name: message.name, response: { output: message.content } } },
        ]);
        break;
    }
  }
  return out;
}

/** Merges one answer or the chunks of a streamed one (usage: the last chunk's cumulative counts). */
function toResult(chunks: GenerateContentResponse[]): ProviderCallResult {
  let usage: LlmUsage = EMPTY_USAGE;
  let text = '';
  let finish: string | undefined;
  const toolCalls: ToolCall[] = [];
  for (const chunk of chunks) {
    if (chunk.usageMetadata) usage = toUsage(chunk.usageMetadata);
    const candidate = chunk.candidates?.[0];
    if (candidate?.finishReason) finish = candidate.finishReason;
    for (const part of candidate?.content?.parts ?? []) {
      if (part.text && !part.thought) text += part.text;
      if (part.functionCall) {
        const args = part.functionCall.args;
        if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
          throw new ProviderCallError('malformed', 'functionCall args is not an object', { usage });
        }
        toolCalls.push({
          id: part.functionCall.id ?? `call_${toolCalls.length}`,
          name: part.functionCall.name ?? '',
          arguments: args ?? {},
        });
      }
    }
  }
  if (finish === 'MALFORMED_FUNCTION_CALL')
    throw new ProviderCallError('malformed', 'the model produced a malformed function call', { usage });
  if (!chunks.length || (finish === undefined && !text && !toolCalls.length)) {
    throw new ProviderCallError('malformed', 'the answer has no candidates', { usage });
  }
  return { text, toolCalls, usage, finishReason: toFinishReason(finish, toolCalls.length > 0) };
}

function toUsage(meta: NonNullable<GenerateContentResponse['usageMetadata']>): LlmUsage {
  return {
    inputTokens: (meta.promptTokenCount ?? 0) + (meta.toolUsePromptTokenCount ?? 0),
    // Thinking tokens are billed as output.
    outputTokens: (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0),
    cachedInputTokens: meta.cachedContentTokenCount ?? 0,
  };
}

function toFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (hasToolCalls) return 'tool_calls';
  switch (reason) {
    case 'STOP':
      return 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
      return 'content_filter';
    default:
      return 'other';
  }
}
