import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * Our own spans. Through @opentelemetry/api only: with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)
 * no SDK is loaded and every call here meets the API's no-op tracer, which allocates nothing worth
 * measuring.
 */
const tracer = () => trace.getTracer('quorum');

/** Runs `fn` inside a span that ends with it (an exception marks it as an error). */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span for something that already happened (it is reported once it completed), under the active span. */
export function recordSpan(
  name: string,
  attributes: Attributes,
  startedAt: number,
  durationMs: number,
  error?: string,
  kind: SpanKind = SpanKind.INTERNAL,
): void {
  const span = tracer().startSpan(name, { attributes, kind, startTime: startedAt });
  if (!span.isRecording()) return;
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end(startedAt + durationMs);
}

/** The active trace context as W3C headers, to travel inside a job's data; empty when tracing is off. */
export function traceCarrier(): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** Runs `fn` in the trace context a job carried (its spans become children of the request that enqueued it). */
export function withCarriedContext<T>(carrier: Record<string, string> | undefined, fn: () => T): T {
  if (!carrier) return fn();
  return context.with(propagation.extract(context.active(), carrier), fn);
}
