import type { AgentsConfig } from './agents.config.js';
import { agentsConfig } from './agents.config.js';
import type { AppConfig } from './app.config.js';
import { appConfig } from './app.config.js';
import type { AuthConfig } from './auth.config.js';
import { authConfig } from './auth.config.js';
import type { CouncilConfig } from './council.config.js';
import { councilConfig } from './council.config.js';
import type { DatabaseConfig } from './database.config.js';
import { databaseConfig } from './database.config.js';
import type { LlmConfig } from './llm.config.js';
import { llmConfig } from './llm.config.js';
import type { MailConfig } from './mail.config.js';
import type { MaintenanceConfig } from './maintenance.config.js';
import { maintenanceConfig } from './maintenance.config.js';
import { mailConfig } from './mail.config.js';
import type { ObservabilityConfig } from './observability.config.js';
import { observabilityConfig } from './observability.config.js';
import type { RedisConfig } from './redis.config.js';
import { redisConfig } from './redis.config.js';
import type { RepositoriesConfig } from './repositories.config.js';
import { repositoriesConfig } from './repositories.config.js';
import type { SandboxConfig } from './sandbox.config.js';
import { sandboxConfig } from './sandbox.config.js';
import type { SecretsConfig } from './secrets.config.js';
import { secretsConfig } from './secrets.config.js';
import type { WebhooksConfig } from './webhooks.config.js';
import { webhooksConfig } from './webhooks.config.js';

/** Every config namespace (one per line, so parallel branches merge cleanly); a new module adds its own. */
export const CONFIG_NAMESPACES = [
  appConfig,
  databaseConfig,
  redisConfig,
  secretsConfig,
  agentsConfig,
  authConfig,
  mailConfig,
  llmConfig,
  sandboxConfig,
  webhooksConfig,
  repositoriesConfig,
  councilConfig,
  observabilityConfig,
  maintenanceConfig,
];

/** The typed shape behind `ConfigService<AllConfig, true>`. */
export interface AllConfig {
  app: AppConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  secrets: SecretsConfig;
  agents: AgentsConfig;
  auth: AuthConfig;
  mail: MailConfig;
  llm: LlmConfig;
  sandbox: SandboxConfig;
  webhooks: WebhooksConfig;
  repositories: RepositoriesConfig;
  council: CouncilConfig;
  observability: ObservabilityConfig;
  maintenance: MaintenanceConfig;
}

/** Evaluates every namespace once, so a bad value stops start-up before anything connects. */
export function validateAllConfig(): void {
  for (const factory of CONFIG_NAMESPACES) factory();
}
