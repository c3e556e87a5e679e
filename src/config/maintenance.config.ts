import { registerAs } from '@nestjs/config';
import { envBool, envInt, parseEnv } from './env.js';

/**
 * Periodic maintenance (retention) run by the workers as BullMQ job schedulers. A retention of 0
 * days keeps those rows forever (that task's schedule is removed).
 */
export const maintenanceConfig = registerAs('maintenance', () => {
  const env = parseEnv({
    MAINTENANCE_ENABLED: envBool(true),
    MAINTENANCE_INTERVAL_SECONDS: envInt(3600, 1, 7 * 24 * 3600),
    RETENTION_EMAIL_TOKENS_DAYS: envInt(7, 0, 3650),
    RETENTION_SESSIONS_DAYS: envInt(30, 0, 3650),
    RETENTION_WEBHOOK_DELIVERIES_DAYS: envInt(30, 0, 3650),
  });
  return {
    enabled: env.MAINTENANCE_ENABLED,
    intervalMs: env.MAINTENANCE_INTERVAL_SECONDS * 1000,
    /** Days a row is kept after it expired, was used or revoked (tokens, sessions) or finished (deliveries). */
    retentionDays: {
      emailTokens: env.RETENTION_EMAIL_TOKENS_DAYS,
      sessions: env.RETENTION_SESSIONS_DAYS,
      webhookDeliveries: env.RETENTION_WEBHOOK_DELIVERIES_DAYS,
    },
  };
});
export type MaintenanceConfig = ReturnType<typeof maintenanceConfig>;
