import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Usage, budgets and reservations belong to a user: deleting the account erases them. */
export class LlmUsageUserForeignKeys1763802000100 implements MigrationInterface {
  name = 'LlmUsageUserForeignKeys1763802000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['llm_usage', 'llm_budgets', 'llm_budget_reservations']) {
      await queryRunner.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['llm_budget_reservations', 'llm_budgets', 'llm_usage']) {
      await queryRunner.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_user_id_fkey`);
    }
  }
}
