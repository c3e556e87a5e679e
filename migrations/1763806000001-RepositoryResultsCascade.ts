import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A task's or run's deletion takes its repository results (patch, diff, pull request link) with it. */
export class RepositoryResultsCascade1763806000001 implements MigrationInterface {
  name = 'RepositoryResultsCascade1763806000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DELETE FROM repository_results r WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = r.run_id)',
    );
    await queryRunner.query(
      'ALTER TABLE repository_results ADD CONSTRAINT repository_results_task_fk FOREIGN KEY (task_id) REFERENCES tasks(id) ON DELETE CASCADE',
    );
    await queryRunner.query(
      'ALTER TABLE repository_results ADD CONSTRAINT repository_results_run_fk FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE repository_results DROP CONSTRAINT repository_results_run_fk');
    await queryRunner.query('ALTER TABLE repository_results DROP CONSTRAINT repository_results_task_fk');
  }
}
