import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PublishedRepositoryResult } from '#src/agents/graph/repository.port.js';
import type { ReviewOutcome } from '#src/agents/graph/review.port.js';
import type { TaskConfig, TaskFile, TaskLanguage, TaskMode } from '#src/tasks/entities/task.entity.js';

export const RUN_STATUSES = ['queued', 'running', 'awaiting_input', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'awaiting_input'];
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

/** What the run works on: a snapshot of the task at execute time (a later PATCH does not change a run). */
export interface RunInput {
  title: string;
  description: string;
  language: TaskLanguage;
  mode: TaskMode;
  repositoryId: string | null;
  files: TaskFile[];
  config: TaskConfig;
}

export interface RunResult {
  files: TaskFile[];
  /** Counts are null when the test command's output matched no runner Quorum reads. */
  tests: { files: TaskFile[]; passed: number | null; failed: number | null; output: string } | null;
  diff: string;
  review: ReviewOutcome | null;
  plan?: unknown;
  /** Repository tasks: the commit on `quorum/<task-id>` that holds the result (`diff` is its diff). */
  repository?: PublishedRepositoryResult | null;
}

/**
 * The answer a user gave to a run waiting for input, consumed by the next job: a plan answer, or
 * (`budget: true`) the go-ahead to continue a run paused by its budget from its checkpoint.
 */
export interface ResumeAnswer {
  approve: boolean;
  feedback?: string;
  budget?: boolean;
}

/** What a run in `awaiting_input` waits for. */
export type RunAwaiting =
  | { reason: 'plan' }
  | {
      reason: 'budget';
      /** The limit that refused the model call (as in `BUDGET_EXCEEDED`). */
      scope: 'user' | 'org' | 'member' | 'apiKey' | 'task';
      scopeId: string;
      limitUsd: string;
      /** The refused call's worst-case cost: what the limit must have room for to continue. */
      requiredUsd: string;
    };

@Entity('runs')
export class Run {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  /** The organization the resource belongs to (null: the user's own). */
  @Column({ name: 'org_id', type: 'uuid', nullable: true })
  orgId!: string | null;

  /** The API key that started the run (its budget applies to the run's model calls). */
  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId!: string | null;

  @Column({ type: 'varchar', length: 24, default: 'queued' })
  status!: RunStatus;

  @Column({ type: 'integer', default: 0 })
  iteration!: number;

  @Column({ type: 'jsonb' })
  input!: RunInput;

  @Column({ type: 'jsonb', nullable: true })
  result!: RunResult | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested!: boolean;

  @Column({ name: 'resume_count', type: 'integer', default: 0 })
  resumeCount!: number;

  /** The latest plan-approval answer, handed to the graph by the job that resumes it. */
  @Column({ name: 'resume_answer', type: 'jsonb', nullable: true })
  resumeAnswer!: ResumeAnswer | null;

  /** Set while the run is `awaiting_input`: a plan answer or room in a budget. */
  @Column({ type: 'jsonb', nullable: true })
  awaiting!: RunAwaiting | null;

  @Column({ name: 'input_tokens', type: 'integer', default: 0 })
  inputTokens!: number;

  @Column({ name: 'output_tokens', type: 'integer', default: 0 })
  outputTokens!: number;

  /** Prompt tokens read from the providers' caches, among `inputTokens`. */
  @Column({ name: 'cached_input_tokens', type: 'integer', default: 0 })
  cachedInputTokens!: number;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 18, scale: 8, default: 0 })
  costUsd!: string;

  @Column({ name: 'last_seq', type: 'integer', default: 0 })
  lastSeq!: number;

  @Column({ name: 'started_at', type: 'timestamptz', precision: 3, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', precision: 3, nullable: true })
  finishedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;
}
