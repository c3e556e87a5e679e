import { Module } from '@nestjs/common';
import { CoreModule } from './core.module.js';
import { JOB_MODULES } from './job-modules.js';

/** The worker process: an application context without HTTP whose only work is the job modules. */
@Module({
  imports: [CoreModule, ...JOB_MODULES],
})
export class WorkerModule {}
