import { Module } from '@nestjs/common';
import { RunGraphService } from '#src/agents/graph/run-graph.service.js';
import { EnvironmentSetup } from '#src/agents/graph/environment.port.js';
import { TestRunner } from '#src/agents/graph/test-runner.port.js';
import { EnvironmentSetupService } from '#src/agents/setup/environment-setup.service.js';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { RunsCoreModule } from '#src/agents/runs/runs-core.module.js';
import { TrajectoryRecordingModule } from '#src/agents/trajectories/trajectory-recording.module.js';
import { SandboxModule } from '#src/agents/sandbox/sandbox.module.js';
import { CommandRunner } from '#src/agents/tools/workspace-toolbox.js';
import { CouncilModule } from '#src/council/council.module.js';
import { RepositoriesCoreModule } from '#src/repositories/repositories-core.module.js';
import { AgentRunProcessor } from './agent-run.processor.js';
import { RunCancellationService } from './run-cancellation.service.js';
import { SandboxCommandRunner } from './sandbox-command-runner.js';
import { SandboxTestRunner } from './sandbox-test-runner.js';

/** The worker side of agent runs: the BullMQ consumer, the graph, cancellation. */
@Module({
  imports: [RunsCoreModule, LlmModule, SandboxModule, RepositoriesCoreModule, CouncilModule, TrajectoryRecordingModule],
  providers: [
    AgentRunProcessor,
    RunGraphService,
    RunCancellationService,
    { provide: TestRunner, useClass: SandboxTestRunner },
    { provide: CommandRunner, useClass: SandboxCommandRunner },
    { provide: EnvironmentSetup, useClass: EnvironmentSetupService },
  ],
})
export class AgentJobsModule {}
