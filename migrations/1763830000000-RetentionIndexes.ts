import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the maintenance retention jobs (issue 18, src/maintenance/retention.service.ts): each
 * job deletes by one of these columns, so a sweep reads only the rows it removes.
 */
export class RetentionIndexes1763830000000 implements MigrationInterface {
  name = 'RetentionIndexes1763830000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at)');
    await queryRunner.query('CREATE INDEX user_sessions_expires_idx ON user_sessions (expires_at)');
    await queryRunner.query(
      'CREATE INDEX user_sessions_revoked_idx ON user_sessions (revoked_at) WHERE revoked_at IS NOT NULL',
    );
    await queryRunner.query(
      `CREATE INDEX webhook_deliveries_completed_idx ON webhook_deliveries (completed_at) WHERE status <> 'pending'`,
    );
    await queryRunner.query('CREATE INDEX llm_budget_reservations_expires_idx ON llm_budget_reservations (expires_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX IF EXISTS llm_budget_reservations_expires_idx');
    await queryRunner.query('DROP INDEX IF EXISTS webhook_deliveries_completed_idx');
    await queryRunner.query('DROP INDEX IF EXISTS user_sessions_revoked_idx');
    await queryRunner.query('DROP INDEX IF EXISTS user_sessions_expires_idx');
    await queryRunner.query('DROP INDEX IF EXISTS email_tokens_expires_idx');
  }
}
