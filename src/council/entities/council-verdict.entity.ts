import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Verdict } from '#src/agents/graph/review.port.js';
import type { AggregateReason, CouncilIssue, Dissent } from '../aggregate.js';

/** The council's aggregate decision on one iteration of a run (its judges are `council_reviews`). */
@Entity('council_verdicts')
@Index(['runId', 'iteration'], { unique: true })
export class CouncilVerdict {
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
  mode: 'build' | 'review';

  /** Null only when no judge completed (reason NO_QUORUM). */
  @Column({ type: 'text', nullable: true })
  verdict: Verdict | null;

  @Column({ type: 'text' })
  reason: AggregateReason;

  @Column({ name: 'vetoed_by', type: 'text', nullable: true })
  vetoedBy: string | null;

  @Column({ type: 'text' })
  summary: string;

  @Column({ type: 'jsonb' })
  votes: Record<Verdict, number>;

  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  dissent: Dissent[];

  /** Merged, de-duplicated, most severe first. */
  @Column({ type: 'jsonb', default: () => "'[]'::jsonb" })
  issues: CouncilIssue[];

  @Column({
    type: 'numeric',
    precision: 4,
    scale: 2,
    nullable: true,
    transformer: { to: (v?: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  score: number | null;

  @Column({ name: 'files_hash', type: 'text' })
  filesHash: string;

  @Column({ name: 'findings_hash', type: 'text' })
  findingsHash: string;

  @Column({ name: 'has_findings', type: 'boolean' })
  hasFindings: boolean;

  /** Set when this iteration repeated the previous one (SAME_FILES | SAME_FINDINGS). */
  @Column({ name: 'stuck_cause', type: 'text', nullable: true })
  stuckCause: string | null;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 18, scale: 8, default: '0' })
  costUsd: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
