import { Module } from '@nestjs/common';
import { RunsCoreModule } from '#src/agents/runs/runs-core.module.js';
import { TasksModule } from '#src/tasks/tasks.module.js';
import { RepositoriesController } from './repositories.controller.js';
import { RepositoriesCoreModule } from './repositories-core.module.js';
import { TaskPublishingController } from './task-publishing.controller.js';
import { TaskPublishingService } from './task-publishing.service.js';

/** The `/repositories` routes, and the task routes that publish results (`/tasks/:id/patch`, `/tasks/:id/pull-request`). */
@Module({
  imports: [RepositoriesCoreModule, RunsCoreModule, TasksModule],
  controllers: [RepositoriesController, TaskPublishingController],
  providers: [TaskPublishingService],
})
export class RepositoriesModule {}
