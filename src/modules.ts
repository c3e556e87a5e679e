import { ProviderAdminModule } from './agents/llm/admin/provider-admin.module.js';
import type { Type } from '@nestjs/common';
import { RunsModule } from './agents/runs/runs.module.js';
import { TrajectoriesModule } from './agents/trajectories/trajectories.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CouncilApiModule } from './council/council-api.module.js';
import { HealthModule } from './health/health.module.js';
import { QueueDashboardModule } from './queue-dashboard/queue-dashboard.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrgsModule } from './orgs/orgs.module.js';
import { AuditModule } from './audit/audit.module.js';
import { RepositoriesModule } from './repositories/repositories.module.js';
import { TasksModule } from './tasks/tasks.module.js';
import { UsersApiModule } from './users/users-api.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

/** Feature modules served by the API process (controllers and the services behind them). */
export const HTTP_MODULES: Type[] = [
  HealthModule,
  AuthModule,
  UsersApiModule,
  TasksModule,
  RunsModule,
  TrajectoriesModule,
  RepositoriesModule,
  MetricsModule,
  WebhooksModule,
  OrgsModule,
  AuditModule,
  CouncilApiModule,
  QueueDashboardModule,
  ProviderAdminModule,
];
