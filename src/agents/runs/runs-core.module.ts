import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsCoreModule } from '#src/metrics/metrics-core.module.js';
import { TasksCoreModule } from '#src/tasks/tasks-core.module.js';
import { WebhooksCoreModule } from '#src/webhooks/webhooks-core.module.js';
import { RunEvent } from './entities/run-event.entity.js';
import { RunStep } from './entities/run-step.entity.js';
import { Run } from './entities/run.entity.js';
import { RunEventsService } from './run-events.service.js';
import { RunProgressService } from './run-progress.service.js';
import { RunsService } from './runs.service.js';

/** Runs, steps and events as both processes use them (no controllers). */
@Module({
  imports: [TypeOrmModule.forFeature([Run, RunStep, RunEvent]), TasksCoreModule, WebhooksCoreModule, MetricsCoreModule],
  providers: [RunsService, RunEventsService, RunProgressService],
  exports: [RunsService, RunEventsService, RunProgressService],
})
export class RunsCoreModule {}
