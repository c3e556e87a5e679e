import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TasksAndRuns1763803000000 implements MigrationInterface {
  name = 'TasksAndRuns1763803000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE tasks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title varchar(200) NOT NULL,
        description text NOT NULL,
        language varchar(16) NOT NULL,
        mode varchar(16) NOT NULL DEFAULT 'build',
        repository_id uuid,
        files jsonb NOT NULL DEFAULT '[]',
        config jsonb NOT NULL DEFAULT '{}',
        status varchar(24) NOT NULL DEFAULT 'draft',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC)');
    await queryRunner.query(
      'CREATE INDEX tasks_user_status_created_idx ON tasks (user_id, status, created_at DESC, id DESC)',
    );

    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        scope varchar(120) NOT NULL,
        key varchar(255) NOT NULL,
        request_hash char(64) NOT NULL,
        response_status integer NOT NULL,
        response_body jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(
      'CREATE UNIQUE INDEX idempotency_keys_user_scope_key_uq ON idempotency_keys (user_id, scope, key)',
    );
    await queryRunner.query('CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)');

    await queryRunner.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        status varchar(24) NOT NULL DEFAULT 'queued',
        iteration integer NOT NULL DEFAULT 0,
        input jsonb NOT NULL,
        result jsonb,
        error text,
        error_code varchar(64),
        cancel_requested boolean NOT NULL DEFAULT false,
        resume_count integer NOT NULL DEFAULT 0,
        resume_answer jsonb,
        input_tokens integer NOT NULL DEFAULT 0,
        output_tokens integer NOT NULL DEFAULT 0,
        cost_usd numeric(18,8) NOT NULL DEFAULT 0,
        last_seq integer NOT NULL DEFAULT 0,
        started_at timestamptz(3),
        finished_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX runs_user_created_idx ON runs (user_id, created_at DESC, id DESC)');
    await queryRunner.query('CREATE INDEX runs_task_created_idx ON runs (task_id, created_at DESC, id DESC)');
    // At most one active run per task, held by the database even under concurrent executes.
    await queryRunner.query(
      `CREATE UNIQUE INDEX runs_one_active_per_task_uq ON runs (task_id) WHERE status IN ('queued', 'running', 'awaiting_input')`,
    );
    await queryRunner.query(`CREATE INDEX runs_queued_idx ON runs (created_at) WHERE status = 'queued'`);

    await queryRunner.query(`
      CREATE TABLE run_steps (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        step_key varchar(120),
        agent varchar(64) NOT NULL,
        iteration integer NOT NULL,
        provider varchar(32),
        model varchar(200),
        status varchar(16) NOT NULL,
        input_tokens integer NOT NULL DEFAULT 0,
        output_tokens integer NOT NULL DEFAULT 0,
        cost_usd numeric(18,8) NOT NULL DEFAULT 0,
        summary text,
        error text,
        output jsonb,
        started_at timestamptz(3) NOT NULL DEFAULT now(),
        finished_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query('CREATE INDEX run_steps_run_idx ON run_steps (run_id, created_at, id)');
    await queryRunner.query(
      `CREATE UNIQUE INDEX run_steps_completed_key_uq ON run_steps (run_id, step_key) WHERE status = 'completed'`,
    );

    await queryRunner.query(`
      CREATE TABLE run_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        type varchar(40) NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query('CREATE UNIQUE INDEX run_events_run_seq_uq ON run_events (run_id, seq)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE run_events');
    await queryRunner.query('DROP TABLE run_steps');
    await queryRunner.query('DROP TABLE runs');
    await queryRunner.query('DROP TABLE idempotency_keys');
    await queryRunner.query('DROP TABLE tasks');
  }
}
