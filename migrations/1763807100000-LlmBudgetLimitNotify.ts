import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change of a budget limit, whoever makes it (the API, a script, psql), notifies
 * `llm_budget_limits` with the user's id when it commits: each process keeps "this user has no
 * limit" in memory and drops it on the notification (BudgetService).
 */
export class LlmBudgetLimitNotify1763807100000 implements MigrationInterface {
  name = 'LlmBudgetLimitNotify1763807100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION llm_budgets_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify('llm_budget_limits', '*');
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('llm_budget_limits', OLD.user_id::text);
        ELSE
          PERFORM pg_notify('llm_budget_limits', NEW.user_id::text);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER llm_budgets_notify AFTER INSERT OR UPDATE OR DELETE ON llm_budgets FOR EACH ROW EXECUTE FUNCTION llm_budgets_notify()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER llm_budgets_notify_truncate AFTER TRUNCATE ON llm_budgets FOR EACH STATEMENT EXECUTE FUNCTION llm_budgets_notify()`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER llm_budgets_notify_truncate ON llm_budgets');
    await queryRunner.query('DROP TRIGGER llm_budgets_notify ON llm_budgets');
    await queryRunner.query('DROP FUNCTION llm_budgets_notify()');
  }
}
