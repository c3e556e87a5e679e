import { Module } from '@nestjs/common';
import { TrajectoriesService } from './trajectories.service.js';

/** Reading trajectories back and their retention, for both processes (no controllers). */
@Module({
  providers: [TrajectoriesService],
  exports: [TrajectoriesService],
})
export class TrajectoriesCoreModule {}
