import type { Server } from 'node:http';
import { register } from 'node:module';
import { currentEnv } from '#src/config/env.js';
import type { Env } from '#src/config/env.js';
import { emitUntraced, routeUntracedAroundExpressSpans } from './untraced-probes.js';

export interface TracingHandle {
  shutdown(): Promise<void>;
}

/** The running tracer provider of this process (at most one), for shutdownTracing(). */
let running: TracingHandle | null = null;
let stopping: Promise<void> | null = null;
/** The requests that go around the instrumentations (untraced-probes.ts), when tracing is on. */
let untraced: ((url: string | undefined) => boolean) | null = null;

/**
 * Exports the spans still waiting in the batch and stops the exporter (once; later calls wait for
 * the first). Called from the application's shutdown hooks (TracingShutdown), after the HTTP server
 * and the job consumers have stopped, so the spans of the last requests and runs are not lost with
 * the process. Does nothing when tracing is off.
 */
export function shutdownTracing(): Promise<void> {
  if (!running) return Promise.resolve();
  stopping ??= running.shutdown();
  return stopping;
}

/**
 * Starts OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set, and does nothing at all otherwise
 * (not even loading the SDK). Must run before the application's modules are imported: the ESM
 * loader hook wraps only modules loaded after it (HTTP, Express, pg, ioredis), so `main.ts` and
 * `worker.ts` call this first and import everything else afterwards.
 *
 * Spans go over OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL` http/json or http/protobuf, default
 * protobuf; the exporter reads the standard OTEL_* variables itself) in batches.
 */
export async function startTracing(processName: 'api' | 'worker'): Promise<TracingHandle | null> {
  const env = currentEnv();
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return null;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const [api, sdk, { resourceFromAttributes }, core, asyncHooks, instrumentation] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/instrumentation'),
  ]);
  const exporter =
    env.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json'
      ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  const { TracerProvider, BatchSpanProcessor } = sdk;
  const provider = new TracerProvider({
    sampler: samplerFromEnv(env, sdk),
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME ?? 'quorum',
      'service.namespace': 'quorum',
      'quorum.process': processName,
    }),
    // OTEL_BSP_SCHEDULE_DELAY (ms) as in the other OpenTelemetry SDKs; this one does not read it itself.
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: scheduleDelayMs(env) })],
  });
  api.context.setGlobalContextManager(new asyncHooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  );
  api.trace.setGlobalTracerProvider(provider);
  const [
    { HttpInstrumentation },
    { ExpressInstrumentation, ExpressLayerType },
    { PgInstrumentation },
    { IORedisInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  const traceProbes = env.OTEL_TRACE_PROBES?.trim().toLowerCase() === 'true';
  // Route handlers and routers only: a span per middleware (body parsers, CORS, cookies, request
  // id, …) on every request cost most of the traced live route's throughput and says nothing a
  // request's own span does not.
  const express = new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] });
  if (!traceProbes) {
    routeUntracedAroundExpressSpans(express);
    untraced = isProbe;
  }
  instrumentation.registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // The exporter's own requests would trace themselves forever.
        ignoreOutgoingRequestHook: (request) => String(request.path ?? '').endsWith('/v1/traces'),
        // Liveness and readiness probes (an orchestrator calls them every few seconds, a load
        // balancer more often) would fill the backend with identical one-span traces: not traced,
        // as collectors are usually told to drop them, unless OTEL_TRACE_PROBES=true. The API's
        // server hands them to the app around this instrumentation (untracedProbesOn); the hook
        // still keeps them out of a trace on any other server.
        ignoreIncomingRequestHook: (request) => !traceProbes && isProbe(request.url),
      }),
      express,
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  running = { shutdown: () => provider.shutdown() };
  return running;
}

/**
 * Lets the API's HTTP server pass the requests tracing leaves out (the probes, unless
 * OTEL_TRACE_PROBES=true) around the HTTP and Express instrumentations, so that they cost what they
 * cost with tracing off (untraced-probes.ts). Does nothing when tracing is off or traces probes.
 */
export function untracedProbesOn(server: Server): void {
  if (untraced) emitUntraced(server, untraced);
}

function scheduleDelayMs(env: Env): number {
  const value = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  return env.OTEL_BSP_SCHEDULE_DELAY?.trim() && Number.isFinite(value) && value >= 0 ? value : 1_000;
}

/** The health routes an orchestrator probes (GET /api/v1/health/live and /ready, any query). */
export function isProbe(url: string | undefined): boolean {
  // Asked of every request when tracing is on: the prefix turns nearly all away before the pattern.
  return url !== undefined && url.startsWith('/api/v1/health/') && PROBE.test(url);
}
const PROBE = /^\/api\/v1\/health\/(live|ready)\/?(\?|$)/;

type SdkTrace = typeof import('@opentelemetry/sdk-trace');

/**
 * The standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (this SDK does not read them itself):
 * always_on, always_off, traceidratio, parentbased_always_on (the default), parentbased_always_off,
 * parentbased_traceidratio; the ratio is 0..1 (default 1). Unknown values are refused by the
 * configuration at start (observability.config.ts), so here they fall back to the default.
 */
export function samplerFromEnv(
  env: Env,
  sdk: SdkTrace,
):
  | InstanceType<SdkTrace['ParentBasedSampler']>
  | InstanceType<SdkTrace['AlwaysOnSampler']>
  | InstanceType<SdkTrace['AlwaysOffSampler']>
  | InstanceType<SdkTrace['TraceIdRatioBasedSampler']> {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on';
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = env.OTEL_TRACES_SAMPLER_ARG?.trim() && Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  switch (name) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}
