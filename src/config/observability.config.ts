import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envBool, envInt, envUrl, parseEnv } from './env.js';

/** Trajectories of runs, the queue dashboard and OpenTelemetry traces (issue 15). */
export const observabilityConfig = registerAs('observability', () => {
  const env = parseEnv({
    TRAJECTORY_ENABLED: envBool(true),
    /** Bytes of one entry's JSON before compression; longer texts inside it are clipped to fit. */
    TRAJECTORY_MAX_ENTRY_BYTES: envInt(64 * 1024, 1024, 16 * 1024 * 1024),
    /** Compressed bytes of one run's trajectory; entries past it keep their metadata only. */
    TRAJECTORY_MAX_RUN_BYTES: envInt(8 * 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
    /** Characters of a tool's result kept (head and tail). */
    TRAJECTORY_TOOL_RESULT_CHARS: envInt(4_000, 100, 1_000_000),
    TRAJECTORY_RETENTION_DAYS: envInt(30, 1, 3650),
    /** How long entries wait in memory before they are written together (the run never waits for them). */
    TRAJECTORY_FLUSH_MS: envInt(250, 0, 60_000),
    QUEUE_DASHBOARD_ACTIONS: envBool(false),
    OTEL_EXPORTER_OTLP_ENDPOINT: envUrl(['http', 'https']).optional(),
    OTEL_SERVICE_NAME: z.string().optional(),
    /** Read by the tracer at start (src/telemetry/tracing.ts); validated here so a typo stops start-up. */
    OTEL_TRACES_SAMPLER: z
      .enum([
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ])
      .optional(),
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
    OTEL_TRACE_PROBES: envBool(false),
  });
  return {
    trajectories: {
      enabled: env.TRAJECTORY_ENABLED,
      maxEntryBytes: env.TRAJECTORY_MAX_ENTRY_BYTES,
      maxRunBytes: env.TRAJECTORY_MAX_RUN_BYTES,
      toolResultChars: env.TRAJECTORY_TOOL_RESULT_CHARS,
      retentionDays: env.TRAJECTORY_RETENTION_DAYS,
      flushMs: env.TRAJECTORY_FLUSH_MS,
    },
    queueDashboard: { actions: env.QUEUE_DASHBOARD_ACTIONS },
    otel: { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, serviceName: env.OTEL_SERVICE_NAME ?? 'quorum' },
  };
});
export type ObservabilityConfig = ReturnType<typeof observabilityConfig>;
