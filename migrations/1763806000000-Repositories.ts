import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Repositories1763806000000 implements MigrationInterface {
  name = 'Repositories1763806000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE repositories (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        url text NOT NULL,
        name text NOT NULL,
        default_branch text NOT NULL,
        access_token_encrypted text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX repositories_user_created_idx ON repositories (user_id, created_at DESC, id DESC)',
    );
    await queryRunner.query(`
      CREATE TABLE repository_results (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        repository_id uuid REFERENCES repositories(id) ON DELETE SET NULL,
        task_id uuid NOT NULL,
        run_id uuid NOT NULL UNIQUE,
        branch text NOT NULL,
        base_branch text NOT NULL,
        base_sha text NOT NULL,
        commit_sha text NOT NULL,
        patch text NOT NULL,
        diff text NOT NULL,
        pull_request_url text,
        pull_request_number integer,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX repository_results_task_idx ON repository_results (task_id, created_at DESC)',
    );
    await queryRunner.query('CREATE INDEX repository_results_user_idx ON repository_results (user_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE repository_results');
    await queryRunner.query('DROP TABLE repositories');
  }
}
