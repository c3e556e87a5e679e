import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A repository's own environment setup and test commands (null: detected from its files at run
 * time). Bounded in length as the API bounds them.
 */
export class RepositoryCommands1763811000000 implements MigrationInterface {
  name = 'RepositoryCommands1763811000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE repositories ADD COLUMN setup_command text NULL');
    await queryRunner.query('ALTER TABLE repositories ADD COLUMN test_command text NULL');
    await queryRunner.query(
      'ALTER TABLE repositories ADD CONSTRAINT repositories_setup_command_len CHECK (char_length(setup_command) BETWEEN 1 AND 2000)',
    );
    await queryRunner.query(
      'ALTER TABLE repositories ADD CONSTRAINT repositories_test_command_len CHECK (char_length(test_command) BETWEEN 1 AND 2000)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE repositories DROP COLUMN test_command');
    await queryRunner.query('ALTER TABLE repositories DROP COLUMN setup_command');
  }
}
