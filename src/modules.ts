import type { Type } from '@nestjs/common';
import { AgentJobsModule } from './agents/jobs/agent-jobs.module.js';
import { RunsModule } from './agents/runs/runs.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CouncilApiModule } from './council/council-api.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RepositoriesModule } from './repositories/repositories.module.js';
import { TasksModule } from './tasks/tasks.module.js';
import { UsersApiModule } from './users/users-api.module.js';
import { WebhookJobsModule } from './webhooks/webhook-jobs.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

/** Feature modules served by the API process (controllers and the services behind them). */
export const HTTP_MODULES: Type[] = [
  HealthModule,
  AuthModule,
  UsersApiModule,
  TasksModule,
  RunsModule,
  RepositoriesModule,
  MetricsModule,
  WebhooksModule,
  CouncilApiModule,
];

/** Modules holding BullMQ processors: imported by the worker, and by the API when WORKER_IN_PROCESS. */
export const JOB_MODULES: Type[] = [
  AgentJobsModule,
  WebhookJobsModule,
];
