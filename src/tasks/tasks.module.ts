import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { RunsCoreModule } from '#src/agents/runs/runs-core.module.js';
import { RepositoriesCoreModule } from '#src/repositories/repositories-core.module.js';
import { IdempotencyKey } from './entities/idempotency-key.entity.js';
import { Task } from './entities/task.entity.js';
import { GatewayModelRefValidator } from './gateway-model-ref.validator.js';
import { IdempotencyService } from './idempotency.service.js';
import { ModelRefValidator } from './model-ref.validator.js';
import { TasksCoreModule } from './tasks-core.module.js';
import { TasksController } from './tasks.controller.js';
import { TasksService } from './tasks.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([Task, IdempotencyKey]),
    TasksCoreModule,
    RunsCoreModule,
    LlmModule,
    RepositoriesCoreModule,
  ],
  controllers: [TasksController],
  providers: [TasksService, IdempotencyService, { provide: ModelRefValidator, useClass: GatewayModelRefValidator }],
  // For the task routes other modules serve (repositories: /tasks/:id/patch, /tasks/:id/pull-request).
  exports: [TasksService],
})
export class TasksModule {}
