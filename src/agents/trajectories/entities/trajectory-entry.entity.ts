import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type TrajectoryKind = 'model_call' | 'tool_call';

/** One model call or tool call of a run; `seq` orders a run's entries. `body` is Brotli-compressed JSON. */
@Entity('trajectory_entries')
export class TrajectoryEntry {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ name: 'step_id', type: 'uuid', nullable: true })
  stepId!: string | null;

  @Column({ type: 'varchar', length: 60 })
  agent!: string;

  @Column({ type: 'integer', nullable: true })
  iteration!: number | null;

  @Column({ type: 'varchar', length: 20 })
  kind!: TrajectoryKind;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ type: 'timestamptz', precision: 3 })
  at!: Date;

  @Column({ type: 'bytea' })
  body!: Buffer;

  @Column({ name: 'raw_bytes', type: 'integer' })
  rawBytes!: number;

  @Column({ name: 'stored_bytes', type: 'integer' })
  storedBytes!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
