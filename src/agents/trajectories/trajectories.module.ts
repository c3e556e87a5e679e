import { Module } from '@nestjs/common';
import { RunsCoreModule } from '#src/agents/runs/runs-core.module.js';
import { TrajectoriesController } from './trajectories.controller.js';
import { TrajectoriesCoreModule } from './trajectories-core.module.js';

/** The HTTP side: `GET /agents/runs/:id/trajectory` (paged, or whole as JSON lines). */
@Module({
  imports: [RunsCoreModule, TrajectoriesCoreModule],
  controllers: [TrajectoriesController],
})
export class TrajectoriesModule {}
