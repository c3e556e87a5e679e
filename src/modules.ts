import type { Type } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import { HealthModule } from './health/health.module.js';
import { RepositoriesModule } from './repositories/repositories.module.js';
import { UsersApiModule } from './users/users-api.module.js';

/** Feature modules served by the API process (controllers and the services behind them). */
export const HTTP_MODULES: Type[] = [HealthModule, AuthModule, UsersApiModule, RepositoriesModule];

/** Modules holding BullMQ processors: imported by the worker, and by the API when WORKER_IN_PROCESS. */
export const JOB_MODULES: Type[] = [];
