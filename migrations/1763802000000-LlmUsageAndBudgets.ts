import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage records, budgets and in-flight budget reservations. Their foreign keys to `users` are
 * added by 1763802000100-LlmUsageUserForeignKeys (this one predates the users table on main).
 */
export class LlmUsageAndBudgets1763802000000 implements MigrationInterface {
  name = 'LlmUsageAndBudgets1763802000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE llm_usage (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        task_id uuid,
        run_id uuid,
        step_id uuid,
        agent text NOT NULL,
        provider text NOT NULL,
        model text NOT NULL,
        attempt int NOT NULL,
        input_tokens int NOT NULL,
        output_tokens int NOT NULL,
        cached_input_tokens int NOT NULL,
        cost_usd numeric(18,8) NOT NULL,
        latency_ms int NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('success','error','timeout','aborted','malformed')),
        error_code text,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX idx_llm_usage_user_created ON llm_usage (user_id, created_at)');
    await queryRunner.query('CREATE INDEX idx_llm_usage_run ON llm_usage (run_id) WHERE run_id IS NOT NULL');
    await queryRunner.query(`
      CREATE TABLE llm_budgets (
        user_id uuid PRIMARY KEY,
        monthly_limit_usd numeric(18,8) CHECK (monthly_limit_usd >= 0),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE llm_budget_reservations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        amount_usd numeric(18,8) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX idx_llm_budget_reservations_user ON llm_budget_reservations (user_id, expires_at)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE llm_budget_reservations');
    await queryRunner.query('DROP TABLE llm_budgets');
    await queryRunner.query('DROP TABLE llm_usage');
  }
}
