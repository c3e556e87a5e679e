import type { AppConfig } from './app.config.js';
import { appConfig } from './app.config.js';
import type { CouncilConfig } from './council.config.js';
import { councilConfig } from './council.config.js';
import type { DatabaseConfig } from './database.config.js';
import { databaseConfig } from './database.config.js';
import type { RedisConfig } from './redis.config.js';
import { redisConfig } from './redis.config.js';
import type { SecretsConfig } from './secrets.config.js';
import { secretsConfig } from './secrets.config.js';

/** Every config namespace; a new module adds its own here. */
export const CONFIG_NAMESPACES = [appConfig, databaseConfig, redisConfig, secretsConfig, councilConfig];

/** The typed shape behind `ConfigService<AllConfig, true>`. */
export interface AllConfig {
  app: AppConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  secrets: SecretsConfig;
  council: CouncilConfig;
}

/** Evaluates every namespace once, so a bad value stops start-up before anything connects. */
export function validateAllConfig(): void {
  for (const factory of CONFIG_NAMESPACES) factory();
}
