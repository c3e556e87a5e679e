import type { Logger } from '@nestjs/common';
import type { LlmCallRequest, LlmResult } from '#src/agents/llm/llm.types.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import type { RunEventsService } from '#src/agents/runs/run-events.service.js';
import type { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import type { RunEnvironment } from './environment.port.js';
import type { RepositoryCheckout, RepositoryRunner } from './repository.port.js';
import type { CouncilReviewer } from './review.port.js';
import type { CommandRunner } from '#src/agents/tools/workspace-toolbox.js';
import type { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import type { TestRunner } from './test-runner.port.js';
import type { ToolCallRecord } from '#src/agents/trajectories/trajectory-recorder.service.js';

/** What the graph's nodes call: the gateway (its `call`), the sandbox, run tracking and the council. */
export interface GraphDeps {
  llm: { call(request: LlmCallRequest): Promise<LlmResult> };
  tests: TestRunner;
  progress: RunProgressService;
  events: RunEventsService;
  council: CouncilReviewer | null;
  /** Repository tasks (`repositoryId`); null where the repositories module is not loaded. */
  repositories: RepositoryRunner | null;
  /** What the coder's and the tester's workspace tools work with; `commands` null where no sandbox is loaded. */
  tools: { workspaces: WorkspaceService; commands: CommandRunner | null };
  /** Where each tool call of a tool loop is reported for the run's trajectory. */
  trajectory: { toolCall(call: ToolCallRecord): void };
  stepTimeoutMs: number;
  streamDeltas: boolean;
  logger: Logger;
}

/** Whom a run's model calls are charged to, beyond its user: its organization, API key and task limit. */
export function budgetScopeOf(
  run: Pick<Run, 'orgId' | 'apiKeyId' | 'input'>,
): Pick<LlmCallRequest['context'], 'orgId' | 'apiKeyId' | 'taskMaxCostUsd'> {
  return {
    orgId: run.orgId,
    apiKeyId: run.apiKeyId,
    taskMaxCostUsd: run.input.config.maxCostUsd === undefined ? null : String(run.input.config.maxCostUsd),
  };
}

/** One run's settings and abort signal, looked up by the graph's thread id (= run id). */
export interface RunContext {
  run: Run;
  signal: AbortSignal;
  /**
   * Aborted when the worker starts shutting down: the run stops at the next node boundary (a step
   * in flight may finish) and is handed over; `signal` is aborted too if the step takes too long.
   */
  handover?: AbortSignal;
  maxIterations: number;
  requirePlanApproval: boolean;
  councilEnabled: boolean;
  judges: string[];
  models: Record<string, string>;
  /** Workspace tool calls per coder/tester step. */
  maxToolCalls: number;
  /** The task's `config.latencySloMs`, handed to every model call's routing. */
  latencySloMs?: number;
  /** Context budget of a tool loop's conversation, in estimated tokens. */
  loopContextTokens: number;
  /** Set once this job made a tool loop's model call (a redelivered job's first, replayed, round is special). */
  loopActive?: boolean;
  /** Step workspaces this job made or found (a tool loop looks for its workspace once per job). */
  workspaces?: Set<string>;
  /** When the run's cancel flag was last read from the database (the graph reads it at most once a second). */
  cancelCheckedAt?: number;
  /** A redelivered job continuing a run a dead worker had started: completed steps are looked up and reused. */
  recovering: boolean;
  /** The run's checkout, for a repository task (set by RunGraphService before the graph runs). */
  repository?: RepositoryCheckout;
  /**
   * A repository task's environment after setup (set by RunGraphService before the graph runs):
   * every later sandboxed command of the run (tests, the agents' run_command) gets its `mounts`.
   */
  environment?: RunEnvironment;
}
