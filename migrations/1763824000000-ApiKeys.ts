import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys: `qk_…` secrets stored only as their SHA-256 (a 256-bit random key needs no slow hash),
 * with the first characters kept as a recognisable prefix. A key belongs to its user and goes with
 * the account; `org_id` binds it to one organization (its foreign key comes with the organizations
 * table).
 */
export class ApiKeys1763824000000 implements MigrationInterface {
  name = 'ApiKeys1763824000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        org_id uuid,
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        key_hash char(64) NOT NULL UNIQUE,
        scopes text[] NOT NULL,
        monthly_limit_usd numeric(18,8) CHECK (monthly_limit_usd >= 0),
        expires_at timestamptz(3),
        last_used_at timestamptz(3),
        revoked_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX idx_api_keys_user_created ON api_keys (user_id, created_at DESC, id DESC)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE api_keys');
  }
}
