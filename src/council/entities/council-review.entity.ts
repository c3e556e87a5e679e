import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Verdict } from '#src/agents/graph/review.port.js';
import type { CouncilIssue } from '../aggregate.js';

export type JudgeStatus = 'completed' | 'failed' | 'skipped';

/** One judge's review of one iteration of a run. */
@Entity('council_reviews')
@Index(['runId', 'iteration', 'judge'], { unique: true })
export class CouncilReview {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @Column({ type: 'int' })
  iteration: number;

  @Column({ type: 'text' })
  judge: string;

  /** The judge's seat (0-based order in the task's `judges`), so lists keep the council's order. */
  @Column({ type: 'int' })
  seat: number;

  /** The files this judge reviewed (stuck.ts filesHash): a resumed review reuses answers on the same files only. */
  @Column({ name: 'files_hash', type: 'text' })
  filesHash: string;

  /** The run step of this judge, when the graph opened one. */
  @Column({ name: 'step_id', type: 'uuid', nullable: true })
  stepId: string | null;

  @Column({ type: 'text', nullable: true })
  provider: string | null;

  @Column({ type: 'text', nullable: true })
  model: string | null;

  @Column({ type: 'text' })
  status: JudgeStatus;

  @Column({ type: 'text', nullable: true })
  verdict: Verdict | null;

  @Column({ type: 'text' })
  summary: string;

  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  issues: CouncilIssue[];

  /** The judge's own score; null when it gave none (the council derives one from its issues). */
  @Column({
    type: 'numeric',
    precision: 4,
    scale: 2,
    nullable: true,
    transformer: { to: (v?: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  score: number | null;

  @Column({ name: 'input_tokens', type: 'int', default: 0 })
  inputTokens: number;

  @Column({ name: 'output_tokens', type: 'int', default: 0 })
  outputTokens: number;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 18, scale: 8, default: '0' })
  costUsd: string;

  @Column({ name: 'latency_ms', type: 'int', nullable: true })
  latencyMs: number | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
