import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each model call and tool call of a run saw and answered (issue 15). Bodies are
 * Brotli-compressed JSON; rows go with their run (and so with its task and account).
 */
export class Trajectories1763826000000 implements MigrationInterface {
  name = 'Trajectories1763826000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE trajectory_entries (
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        step_id uuid NULL,
        agent varchar(60) NOT NULL,
        iteration integer NULL,
        kind varchar(20) NOT NULL CHECK (kind IN ('model_call', 'tool_call')),
        duration_ms integer NOT NULL,
        at timestamptz(3) NOT NULL,
        body bytea NOT NULL,
        raw_bytes integer NOT NULL,
        stored_bytes integer NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, seq)
      )
    `);
    await queryRunner.query('CREATE INDEX trajectory_entries_created_at ON trajectory_entries (created_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE trajectory_entries');
  }
}
