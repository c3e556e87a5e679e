import { Module } from '@nestjs/common';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { TrajectoriesCoreModule } from './trajectories-core.module.js';
import { TrajectoryRecorder } from './trajectory-recorder.service.js';

/** The worker side: records every model and tool call of the runs it works on (retention: src/maintenance). */
@Module({
  imports: [LlmModule, TrajectoriesCoreModule],
  providers: [TrajectoryRecorder],
  exports: [TrajectoryRecorder],
})
export class TrajectoryRecordingModule {}
