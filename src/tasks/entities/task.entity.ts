import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const TASK_LANGUAGES = ['typescript', 'javascript', 'python'] as const;
export type TaskLanguage = (typeof TASK_LANGUAGES)[number];
export const TASK_MODES = ['build', 'review'] as const;
export type TaskMode = (typeof TASK_MODES)[number];
export const TASK_STATUSES = [
  'draft',
  'queued',
  'running',
  'awaiting_input',
  'completed',
  'failed',
  'cancelled',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskFile {
  path: string;
  content: string;
}

/** `config` as stored: every field optional; defaults are applied when a run starts. */
export interface TaskConfig {
  councilEnabled?: boolean;
  judges?: string[];
  /** Cap on the council's spend in one run (USD decimal string); judges over it are skipped. */
  councilMaxCostUsd?: string;
  maxIterations?: number;
  /** Workspace tool calls per coder/tester step (1..200; AGENT_MAX_TOOL_CALLS when unset). */
  maxToolCalls?: number;
  /** The router's latency objective per model call (ms). */
  latencySloMs?: number;
  requirePlanApproval?: boolean;
  models?: Partial<Record<'planner' | 'coder' | 'tester' | 'reviewer' | 'judge', string>>;
  branch?: string;
  testCommand?: string;
  /** Cap on what the task's model calls may cost over its whole life (USD decimal string). */
  maxCostUsd?: string | number;
  /** A call that no limit can cover: fail the run (default) or pause it until a limit is raised. */
  onBudgetExceeded?: 'fail' | 'pause';
}

@Entity('tasks')
export class Task {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  /** The organization the resource belongs to (null: the user's own). */
  @Column({ name: 'org_id', type: 'uuid', nullable: true })
  orgId!: string | null;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'varchar', length: 16 })
  language!: TaskLanguage;

  @Column({ type: 'varchar', length: 16, default: 'build' })
  mode!: TaskMode;

  @Column({ name: 'repository_id', type: 'uuid', nullable: true })
  repositoryId!: string | null;

  @Column({ type: 'jsonb', default: () => `'[]'` })
  files!: TaskFile[];

  @Column({ type: 'jsonb', default: () => `'{}'` })
  config!: TaskConfig;

  @Column({ type: 'varchar', length: 24, default: 'draft' })
  status!: TaskStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;
}
