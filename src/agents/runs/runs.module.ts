import { Module } from '@nestjs/common';
import { QueuedRunWatch } from './queued-run-watch.service.js';
import { RunEventsBus } from './run-events.bus.js';
import { RunStreamService } from './run-stream.service.js';
import { RunsCoreModule } from './runs-core.module.js';
import { RunsController } from './runs.controller.js';

/** The HTTP side of runs: queries, stored events, the SSE stream and plan-approval answers. */
@Module({
  imports: [RunsCoreModule],
  controllers: [RunsController],
  providers: [RunStreamService, RunEventsBus, QueuedRunWatch],
})
export class RunsModule {}
