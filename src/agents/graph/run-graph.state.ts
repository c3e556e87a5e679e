import { Annotation } from '@langchain/langgraph';
import type { ReviewOutcome } from './review.port.js';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import type { Plan } from './agent-tools.js';
import type { TestReport } from './test-analysis.js';

export interface RunOutcome {
  status: 'completed' | 'failed';
  code?: string;
  reason?: string;
}

/** The graph's state, checkpointed after every node (thread = run id). Every channel keeps its last value. */
export const RunGraphState = Annotation.Root({
  iteration: Annotation<number>,
  plan: Annotation<Plan | null>,
  planRound: Annotation<number>,
  planFeedback: Annotation<string | null>,
  planApproved: Annotation<boolean>,
  files: Annotation<TaskFile[]>,
  testFiles: Annotation<TaskFile[]>,
  tests: Annotation<TestReport | null>,
  review: Annotation<ReviewOutcome | null>,
  findings: Annotation<string | null>,
  outcome: Annotation<RunOutcome | null>,
});

export type RunGraphValues = typeof RunGraphState.State;
export type RunGraphUpdate = typeof RunGraphState.Update;

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
  };
}
