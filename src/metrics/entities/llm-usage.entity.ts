import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type LlmUsageOutcome = 'success' | 'error' | 'timeout' | 'aborted' | 'malformed';

/** One attempt of one model call: what it cost and how it ended (failed attempts the provider billed too). */
@Entity('llm_usage')
@Index(['userId', 'createdAt'])
export class LlmUsageRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Null only for an organization's record whose member has since deleted their account. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  /** The organization whose task the call served (its budget and usage reports count it). */
  @Column({ name: 'org_id', type: 'uuid', nullable: true })
  orgId: string | null;

  /** The API key that started the run. */
  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId: string | null;

  @Column({ name: 'task_id', type: 'uuid', nullable: true })
  taskId: string | null;

  @Column({ name: 'run_id', type: 'uuid', nullable: true })
  runId: string | null;

  @Column({ name: 'step_id', type: 'uuid', nullable: true })
  stepId: string | null;

  @Column({ type: 'text' })
  agent: string;

  @Column({ type: 'text' })
  provider: string;

  @Column({ type: 'text' })
  model: string;

  /** 1 for the first attempt of a call; retries and fallbacks count on. */
  @Column({ type: 'int' })
  attempt: number;

  @Column({ name: 'input_tokens', type: 'int' })
  inputTokens: number;

  @Column({ name: 'output_tokens', type: 'int' })
  outputTokens: number;

  /** Prompt tokens read from the provider's cache. */
  @Column({ name: 'cached_input_tokens', type: 'int' })
  cachedInputTokens: number;

  /** Prompt tokens written to the provider's cache. */
  @Column({ name: 'cache_write_input_tokens', type: 'int', default: 0 })
  cacheWriteInputTokens: number;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 18, scale: 8 })
  costUsd: string;

  @Column({ name: 'latency_ms', type: 'int' })
  latencyMs: number;

  @Column({ type: 'text' })
  outcome: LlmUsageOutcome;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
