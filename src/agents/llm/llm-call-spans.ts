import { SpanKind } from '@opentelemetry/api';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { recordSpan } from '#src/telemetry/spans.js';
import { LlmCallHooks } from './llm-call-hooks.js';

/**
 * A span per model call attempt, following the OpenTelemetry GenAI semantic conventions
 * (`chat {model}`, gen_ai.* attributes) plus our cost; a child of whatever span made the call
 * (a graph node). A no-op without tracing.
 */
@Injectable()
export class LlmCallSpans implements OnModuleInit {
  constructor(private readonly hooks: LlmCallHooks) {}

  onModuleInit(): void {
    this.hooks.onAttemptCompleted((call) =>
      recordSpan(
        `chat ${call.model}`,
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': call.provider,
          'gen_ai.provider.name': call.provider,
          'gen_ai.request.model': call.model,
          'gen_ai.response.model': call.model,
          'gen_ai.request.max_tokens': call.maxTokens,
          ...(call.request.temperature !== undefined ? { 'gen_ai.request.temperature': call.request.temperature } : {}),
          'gen_ai.usage.input_tokens': call.usage.inputTokens,
          'gen_ai.usage.output_tokens': call.usage.outputTokens,
          'gen_ai.usage.cache_read.input_tokens': call.usage.cachedInputTokens,
          ...(call.result ? { 'gen_ai.response.finish_reasons': [call.result.finishReason] } : {}),
          ...(call.error ? { 'error.type': call.error.kind } : {}),
          'quorum.cost_usd': Number(call.costUsd),
          'quorum.agent': call.request.context.agent,
          'quorum.llm.attempt': call.attempt,
          ...(call.request.context.runId ? { 'quorum.run.id': call.request.context.runId } : {}),
        },
        call.startedAt,
        call.latencyMs,
        call.error?.message,
        SpanKind.CLIENT,
      ),
    );
  }
}
