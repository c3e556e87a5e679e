import { registerAs } from '@nestjs/config';
import { envBool, envInt, envUrl, parseEnv } from './env.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/quorum';

export const databaseConfig = registerAs('database', () => {
  const env = parseEnv({
    DATABASE_URL: envUrl(['postgres', 'postgresql']).optional().default(DEFAULT_DATABASE_URL),
    DATABASE_POOL_SIZE: envInt(10, 1, 500),
    DATABASE_LOGGING: envBool(false),
    DATABASE_MIGRATIONS_RUN: envBool(true),
  });
  return {
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    logging: env.DATABASE_LOGGING,
    migrationsRun: env.DATABASE_MIGRATIONS_RUN,
  };
});
export type DatabaseConfig = ReturnType<typeof databaseConfig>;
