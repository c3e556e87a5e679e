import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a run in `awaiting_input` waits for: a plan answer (`{reason: "plan"}`) or, for a task with
 * `config.onBudgetExceeded: "pause"`, room in the limit that refused a model call
 * (`{reason: "budget", scope, scopeId, limitUsd, requiredUsd}`). The resume route reads it to know
 * which answers are valid and what to check before the run goes back to the queue.
 */
export class RunAwaiting1763832000000 implements MigrationInterface {
  name = 'RunAwaiting1763832000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE runs ADD COLUMN awaiting jsonb NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE runs DROP COLUMN awaiting');
  }
}
