import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envUrl, parseEnv } from './env.js';

export const redisConfig = registerAs('redis', () => {
  const env = parseEnv({
    REDIS_URL: envUrl(['redis', 'rediss']).optional().default('redis://127.0.0.1:6379'),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, { message: 'may hold letters, digits, _ . - only' })
      .optional()
      .default('quorum'),
  });
  return { url: env.REDIS_URL, prefix: env.REDIS_PREFIX };
});
export type RedisConfig = ReturnType<typeof redisConfig>;
