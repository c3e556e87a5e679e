import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { RoutingDecision } from '#src/agents/llm/llm.types.js';

export type RunStepStatus = 'running' | 'completed' | 'failed' | 'skipped' | 'interrupted' | 'cancelled';

/** One agent invocation (or the sandbox run) within a run. */
@Entity('run_steps')
export class RunStep {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  /** Identifies the unit of work (e.g. `coder:2`): a completed step with this key is never paid for twice. */
  @Column({ name: 'step_key', type: 'varchar', length: 120, nullable: true })
  stepKey!: string | null;

  @Column({ type: 'varchar', length: 64 })
  agent!: string;

  @Column({ type: 'integer' })
  iteration!: number;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider!: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  model!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: RunStepStatus;

  @Column({ name: 'input_tokens', type: 'integer', default: 0 })
  inputTokens!: number;

  @Column({ name: 'output_tokens', type: 'integer', default: 0 })
  outputTokens!: number;

  /** Prompt tokens read from the provider's cache, among `inputTokens`. */
  @Column({ name: 'cached_input_tokens', type: 'integer', default: 0 })
  cachedInputTokens!: number;

  /** The router's decision for the step's latest model call: `{candidates, chosen, reason}`. */
  @Column({ type: 'jsonb', nullable: true })
  routing!: RoutingDecision | null;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 18, scale: 8, default: 0 })
  costUsd!: string;

  @Column({ type: 'text', nullable: true })
  summary!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** The step's structured answer (tool-call arguments), reused if the step's node is replayed. */
  @Column({ type: 'jsonb', nullable: true })
  output!: unknown;

  @Column({ name: 'started_at', type: 'timestamptz', precision: 3 })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', precision: 3, nullable: true })
  finishedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
