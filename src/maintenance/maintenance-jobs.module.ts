import { Module } from '@nestjs/common';
import { TrajectoriesCoreModule } from '#src/agents/trajectories/trajectories-core.module.js';
import { MaintenanceProcessor } from './jobs/maintenance.processor.js';
import { RetentionService } from './retention.service.js';

/** Retention as BullMQ job schedulers, consumed by the workers (listed in JOB_MODULES). */
@Module({
  imports: [TrajectoriesCoreModule],
  providers: [RetentionService, MaintenanceProcessor],
  exports: [RetentionService],
})
export class MaintenanceJobsModule {}
