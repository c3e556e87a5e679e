import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { ConfigError } from './config.error.js';
import { envBool, envInt, parseEnv } from './env.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `250ms`, `5s`, `30m`, `2h`, `1d`, or a bare number of milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS];
}

const envDuration = (variable: string, fallback: string) =>
  z
    .string()
    .optional()
    .transform((value) => {
      const ms = parseDuration(value ?? fallback);
      if (ms === undefined)
        throw new ConfigError(variable, `must be a duration like 500ms, 5s, 5m, 2h (got "${value}")`);
      return ms;
    });

/** Svix's schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts in ~27.5 h). */
export const DEFAULT_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,10h';

export const webhooksConfig = registerAs('webhooks', () => {
  const env = parseEnv({
    WEBHOOK_ALLOW_PRIVATE_URLS: envBool(false),
    WEBHOOK_MAX_SUBSCRIPTIONS_PER_USER: envInt(20, 1, 10_000),
    WEBHOOK_TIMEOUT: envDuration('WEBHOOK_TIMEOUT', '10s'),
    WEBHOOK_RETRY_SCHEDULE: z.string().optional().default(DEFAULT_RETRY_SCHEDULE),
    WEBHOOK_DISABLE_AFTER: envDuration('WEBHOOK_DISABLE_AFTER', '24h'),
    WEBHOOK_SECRET_GRACE: envDuration('WEBHOOK_SECRET_GRACE', '24h'),
    WEBHOOK_CONCURRENCY: envInt(50, 1, 1_000),
    WEBHOOK_SWEEP_INTERVAL: envDuration('WEBHOOK_SWEEP_INTERVAL', '30s'),
    WEBHOOK_SWEEP_GRACE: envDuration('WEBHOOK_SWEEP_GRACE', '30s'),
  });
  const retrySchedule = env.WEBHOOK_RETRY_SCHEDULE.split(',').map((step) => parseDuration(step));
  if (retrySchedule.length === 0 || retrySchedule.length > 20 || retrySchedule.some((ms) => ms === undefined)) {
    throw new ConfigError('WEBHOOK_RETRY_SCHEDULE', 'must be 1 to 20 comma-separated durations, e.g. 0,5s,5m,30m,2h');
  }
  if (env.WEBHOOK_SWEEP_INTERVAL < 100) throw new ConfigError('WEBHOOK_SWEEP_INTERVAL', 'must be at least 100ms');
  return {
    allowPrivateUrls: env.WEBHOOK_ALLOW_PRIVATE_URLS,
    maxSubscriptionsPerUser: env.WEBHOOK_MAX_SUBSCRIPTIONS_PER_USER,
    timeoutMs: env.WEBHOOK_TIMEOUT,
    /** Delay before each attempt; entry 0 is the first attempt, so its length is the number of attempts. */
    retryScheduleMs: retrySchedule as number[],
    disableAfterMs: env.WEBHOOK_DISABLE_AFTER,
    secretGraceMs: env.WEBHOOK_SECRET_GRACE,
    concurrency: env.WEBHOOK_CONCURRENCY,
    sweepIntervalMs: env.WEBHOOK_SWEEP_INTERVAL,
    sweepGraceMs: env.WEBHOOK_SWEEP_GRACE,
  };
});
export type WebhooksConfig = ReturnType<typeof webhooksConfig>;
