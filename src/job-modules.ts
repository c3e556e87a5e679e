import type { Type } from '@nestjs/common';
import { AgentJobsModule } from './agents/jobs/agent-jobs.module.js';
import { MaintenanceJobsModule } from './maintenance/maintenance-jobs.module.js';
import { WebhookJobsModule } from './webhooks/webhook-jobs.module.js';

/**
 * Modules holding BullMQ processors: imported by the worker, and by the API when WORKER_IN_PROCESS.
 * Kept apart from HTTP_MODULES so an API-only process never loads the agent graph (LangGraph alone
 * is ~90 MB of resident memory).
 */
export const JOB_MODULES: Type[] = [AgentJobsModule, WebhookJobsModule, MaintenanceJobsModule];
