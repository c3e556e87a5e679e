import { resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envBool, envInt, envList, envUrl, parseEnv } from './env.js';

export const appConfig = registerAs('app', () => {
  const env = parseEnv({
    NODE_ENV: z.enum(['development', 'production', 'test']).optional().default('development'),
    PORT: envInt(3000, 0, 65535),
    HOST: z.string().optional().default('0.0.0.0'),
    PUBLIC_URL: envUrl(['http', 'https']).optional(),
    WEB_APP_URL: envUrl(['http', 'https']).optional(),
    CORS_ORIGINS: envList(),
    DATA_DIR: z.string().optional().default('./.data'),
    WORKER_IN_PROCESS: envBool(true),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i, { message: 'must look like 512kb or 1mb' })
      .optional()
      .default('1mb'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    RATE_LIMIT_ENABLED: envBool(true),
    RATE_LIMIT_PER_MINUTE: envInt(300, 1, 1_000_000),
    SHUTDOWN_TIMEOUT_MS: envInt(10_000, 0, 600_000),
    TRUST_PROXY: envBool(false),
  });
  const production = env.NODE_ENV === 'production';
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
  return {
    nodeEnv: env.NODE_ENV,
    production,
    port: env.PORT,
    host: env.HOST,
    publicUrl,
    /** The web app (OAuth's final redirect); the conventional local one when WEB_APP_URL is unset. */
    webAppUrl: (env.WEB_APP_URL ?? 'http://localhost:5173').replace(/\/$/, ''),
    /** Whether a web app serves the mail links; without one the API serves minimal pages of its own. */
    webAppConfigured: env.WEB_APP_URL !== undefined,
    /** Where mail links point: the web app, else this API's own pages (`/verify-email`, `/reset-password`). */
    mailLinkBase: (env.WEB_APP_URL ?? publicUrl).replace(/\/$/, ''),
    corsOrigins: env.CORS_ORIGINS,
    dataDir: resolve(env.DATA_DIR),
    workerInProcess: env.WORKER_IN_PROCESS,
    bodyLimit: env.BODY_LIMIT.toLowerCase(),
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'warn' : 'info'),
    rateLimit: { enabled: env.RATE_LIMIT_ENABLED, perMinute: env.RATE_LIMIT_PER_MINUTE },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    trustProxy: env.TRUST_PROXY,
  };
});
export type AppConfig = ReturnType<typeof appConfig>;
