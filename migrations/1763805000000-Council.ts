import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The council's records: one row per judge per iteration, and the aggregate per iteration. */
export class Council1763805000000 implements MigrationInterface {
  name = 'Council1763805000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE council_verdicts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        task_id uuid NOT NULL,
        iteration int NOT NULL CHECK (iteration >= 1),
        mode text NOT NULL CHECK (mode IN ('build', 'review')),
        verdict text CHECK (verdict IN ('APPROVE', 'REVISE', 'REJECT')),
        reason text NOT NULL,
        vetoed_by text,
        summary text NOT NULL,
        votes jsonb NOT NULL,
        dissent jsonb NOT NULL DEFAULT '[]'::jsonb,
        issues jsonb NOT NULL DEFAULT '[]'::jsonb,
        score numeric(4,2) CHECK (score BETWEEN 0 AND 10),
        files_hash text NOT NULL,
        findings_hash text NOT NULL,
        has_findings boolean NOT NULL,
        stuck_cause text,
        cost_usd numeric(18,8) NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT council_verdicts_run_iteration_key UNIQUE (run_id, iteration)
      )`);
    await queryRunner.query('CREATE INDEX council_verdicts_user_id_idx ON council_verdicts (user_id)');
    await queryRunner.query(`
      CREATE TABLE council_reviews (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        task_id uuid NOT NULL,
        iteration int NOT NULL CHECK (iteration >= 1),
        judge text NOT NULL,
        seat int NOT NULL,
        files_hash text NOT NULL,
        step_id uuid,
        provider text,
        model text,
        status text NOT NULL CHECK (status IN ('completed', 'failed', 'skipped')),
        verdict text CHECK (verdict IN ('APPROVE', 'REVISE', 'REJECT')),
        summary text NOT NULL,
        issues jsonb NOT NULL DEFAULT '[]'::jsonb,
        score numeric(4,2) CHECK (score BETWEEN 0 AND 10),
        input_tokens int NOT NULL DEFAULT 0,
        output_tokens int NOT NULL DEFAULT 0,
        cost_usd numeric(18,8) NOT NULL DEFAULT 0,
        latency_ms int,
        error text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT council_reviews_run_iteration_judge_key UNIQUE (run_id, iteration, judge)
      )`);
    await queryRunner.query('CREATE INDEX council_reviews_user_id_idx ON council_reviews (user_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE council_reviews');
    await queryRunner.query('DROP TABLE council_verdicts');
  }
}
