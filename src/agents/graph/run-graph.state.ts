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

/**
 * The graph's state, checkpointed after every node (thread = run id), as ONE channel whose reducer
 * merges each node's partial update: a node's step then costs one checkpoint write and one blob
 * instead of one per field it touched (about a quarter of a run's database round trips).
 */
export const RunGraphState = Annotation.Root({
  run: Annotation<RunGraphValues, RunGraphUpdate>({
    reducer: (current, update) => ({ ...current, ...update }),
    default: () => initialGraphState([]),
  }),
});

export type RunGraphChannels = typeof RunGraphState.State;

export function initialGraphState(files: TaskFile[]): RunGraphValues {
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
    loop: null,
  };
}

/** The input that starts a run's graph. */
export function graphInput(files: TaskFile[]): RunGraphChannels {
  return { run: initialGraphState(files) };
}
