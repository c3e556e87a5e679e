import type { LlmCallContext, LlmUsage } from '#src/agents/llm/llm.types.js';
import type { RepositoryInstructions } from './repository-instructions.js';

/**
 * The hook after the tests where a review happens: the single reviewer (agents) or the council of
 * judges (council module) answers it. The graph owns run steps and events; a reviewer reports its
 * steps and events through `ReviewHooks`, so the council never writes agents' tables itself.
 */
export type Verdict = 'APPROVE' | 'REVISE' | 'REJECT';
export type Severity = 'critical' | 'warning' | 'info';

export interface ReviewIssue {
  severity: Severity;
  file?: string;
  line?: number;
  message: string;
  /** Which judge raised it (council only). */
  judge?: string;
}

export interface ReviewFile {
  path: string;
  content: string;
}

export interface ReviewRequest {
  userId: string;
  /** Whom the reviewers' model calls are charged to beyond the user (see `budgetScopeOf`). */
  budget?: Pick<LlmCallContext, 'orgId' | 'apiKeyId' | 'taskMaxCostUsd'>;
  taskId: string;
  runId: string;
  iteration: number;
  mode: 'build' | 'review';
  language: 'typescript' | 'javascript' | 'python';
  title: string;
  description: string;
  plan?: string;
  files: ReviewFile[];
  /**
   * A build task on a repository: its change against the base commit as a unified diff (bounded);
   * `files` are then the files it changed, whole. Absent otherwise.
   */
  diff?: string;
  /** Absent for review-only tasks, which run no tests. */
  tests?: { passed: number; failed: number; output: string; ok?: boolean };
  /** Judges to seat (council) — e.g. ['security','performance','maintainability']. */
  judges: string[];
  /** Per-task model overrides (`config.models`), keys such as `reviewer`, `judge`, `judge.security`. */
  models?: Record<string, string>;
  /** The repository's instructions for agents (AGENTS.md…): every judge is given them. */
  instructions?: RepositoryInstructions;
  /** Optional per-task cap on council spend (USD, decimal string). */
  councilMaxCostUsd?: string;
  /** The task's `config.latencySloMs`: the reviewers' calls are routed against it as the agents' are. */
  latencySloMs?: number;
  /**
   * The task's `onBudgetExceeded: "pause"`: when the budget refuses every judge that could decide,
   * the review throws the refusal before deciding anything, and the refused judges' steps end
   * `interrupted` (they are convened again after the resume), as a refused agent's step does.
   */
  pauseOnBudget?: boolean;
  signal: AbortSignal;
}

export interface StepHandle {
  stepId: string;
}

export interface ReviewHooks {
  /** Opens a run step (status running) for an agent such as `reviewer` or `judge.security`. */
  startStep(agent: string, info: { provider?: string; model?: string }): Promise<StepHandle>;
  /** Closes it with usage, cost (decimal string) and a one-line summary. */
  finishStep(
    step: StepHandle,
    outcome: {
      status: 'completed' | 'failed' | 'skipped' | 'cancelled' | 'interrupted';
      usage?: LlmUsage;
      costUsd?: string;
      summary: string;
      error?: string;
    },
  ): Promise<void>;
  /** Appends a run event (e.g. agent.started, agent.completed, council.completed). */
  emit(type: string, data: Record<string, unknown>): Promise<void>;
}

export interface JudgeVerdict {
  judge: string;
  provider?: string;
  model?: string;
  status: 'completed' | 'failed' | 'skipped';
  verdict?: Verdict;
  summary: string;
  issues: ReviewIssue[];
  score?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: string;
  error?: string;
}

export interface ReviewOutcome {
  verdict: Verdict;
  summary: string;
  /** De-duplicated, most severe first. */
  issues: ReviewIssue[];
  score?: number;
  council?: { verdict: Verdict; judges: JudgeVerdict[]; reason?: string };
}

/** Implemented by the council module; the graph uses it when the task's council is enabled. */
export abstract class CouncilReviewer {
  abstract review(request: ReviewRequest, hooks: ReviewHooks): Promise<ReviewOutcome>;
}
