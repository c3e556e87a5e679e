import { Annotation } from '@langchain/langgraph';
import type { ReviewOutcome } from './review.port.js';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import type { Plan } from './agent-tools.js';
import type { TestReport } from './test-analysis.js';
import type { ToolLoopState } from './tool-loop.js';

export interface RunOutcome {
  status: 'completed' | 'failed';
  code?: string;
  reason?: string;
}

/** What the run graph knows; every node returns the part it changes. */
export interface RunGraphValues {
  iteration: number;
  plan: Plan | null;
  planRound: number;
  planFeedback: string | null;
  planApproved: boolean;
  files: TaskFile[];
  testFiles: TaskFile[];
  tests: TestReport | null;
  review: ReviewOutcome | null;
  findings: string | null;
  outcome: RunOutcome | null;
  /** The coder's or tester's tool loop while it runs (null between steps). */
  loop: ToolLoopState | null;
}

export type RunGraphUpdate = Partial<RunGraphValues>;

/** What the `run` channel holds: everything but the tool loop, which has a channel of its own. */
export type RunGraphRecord = Omit<RunGraphValues, 'loop'>;

/**
 * The graph's state, checkpointed after every node (thread = run id), in two channels: `run`, whose
 * reducer merges each node's partial update (a node's step then costs one checkpoint write and one
 * blob instead of one per field it touched), and `loop`, the coder's or tester's tool loop. A round
 * of a tool loop changes `loop` only, so its checkpoint stores the conversation and not the run's
 * files, plan and tests over again (a checkpoint writes the channels a step changed).
 */
export const RunGraphState = Annotation.Root({
  run: Annotation<RunGraphRecord, Partial<RunGraphRecord>>({
    // The merge drops the tool loop a checkpoint of the one-channel layout kept here (see legacyLoopOf).
    reducer: (current, update) => {
      const { loop: _legacy, ...merged } = { ...current, ...update } as RunGraphRecord & LegacyRunRecord;
      return merged;
    },
    default: () => initialGraphState([]),
  }),
  loop: Annotation<ToolLoopState | null, ToolLoopState | null>({
    reducer: (_current, update) => update,
    default: () => null,
  }),
});

export type RunGraphChannels = typeof RunGraphState.State;

/**
 * The `run` channel as checkpoints written before the tool loop had its own channel hold it (the
 * loop was `run.loop`). A run stopped mid-loop by a deploy resumes from such a checkpoint.
 */
interface LegacyRunRecord {
  loop?: ToolLoopState | null;
}

/** Whether the `run` channel still has the one-channel layout's `loop` key (null between steps). */
export function hasLegacyLoop(run: RunGraphRecord): boolean {
  return 'loop' in run;
}

/** The tool loop: its own channel, else where a checkpoint of the one-channel layout kept it. */
export function loopOf(state: RunGraphChannels): ToolLoopState | null {
  return state.loop ?? (state.run as RunGraphRecord & LegacyRunRecord).loop ?? null;
}

export function initialGraphState(files: TaskFile[]): RunGraphRecord {
  return {
    iteration: 0,
    plan: null,
    planRound: 0,
    planFeedback: null,
    planApproved: false,
    files,
    testFiles: [],
    tests: null,
    review: null,
    findings: null,
    outcome: null,
  };
}

/** The input that starts a run's graph. */
export function graphInput(files: TaskFile[]): RunGraphChannels {
  return { run: initialGraphState(files), loop: null };
}
