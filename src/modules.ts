import type { Type } from '@nestjs/common';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

/** Feature modules served by the API process (controllers and the services behind them). */
export const HTTP_MODULES: Type[] = [HealthModule, MetricsModule];

/** Modules holding BullMQ processors: imported by the worker, and by the API when WORKER_IN_PROCESS. */
export const JOB_MODULES: Type[] = [];
