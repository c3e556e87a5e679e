import { Module } from '@nestjs/common';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { TrajectoriesCoreModule } from './trajectories-core.module.js';
import { TrajectoryRecorder } from './trajectory-recorder.service.js';
import { TrajectoryRetentionService } from './trajectory-retention.service.js';

/** The worker side: records every model and tool call of the runs it works on, and applies retention. */
@Module({
  imports: [LlmModule, TrajectoriesCoreModule],
  providers: [TrajectoryRecorder, TrajectoryRetentionService],
  exports: [TrajectoryRecorder],
})
export class TrajectoryRecordingModule {}
