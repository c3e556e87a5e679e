import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts: users, their sessions (one per device) with rotating refresh tokens, one-time email
 * tokens, TOTP backup codes and linked OAuth accounts. Every child row goes with its user
 * (ON DELETE CASCADE), so deleting an account erases its data.
 */
export class Auth1763801000000 implements MigrationInterface {
  name = 'Auth1763801000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email citext NOT NULL,
        password_hash text,
        name varchar(100),
        avatar_url varchar(2048),
        role varchar(16) NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        email_verified boolean NOT NULL DEFAULT false,
        is_active boolean NOT NULL DEFAULT true,
        totp_secret text,
        totp_enabled boolean NOT NULL DEFAULT false,
        totp_last_step bigint,
        password_changed_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT users_email_key UNIQUE (email)
      )`);
    await queryRunner.query('CREATE INDEX users_created_at_id_idx ON users (created_at DESC, id DESC)');

    await queryRunner.query(`
      CREATE TABLE user_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        user_agent varchar(512),
        ip varchar(64),
        method varchar(32) NOT NULL DEFAULT 'password',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        last_used_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3),
        revoked_reason varchar(32)
      )`);
    await queryRunner.query('CREATE INDEX user_sessions_user_id_idx ON user_sessions (user_id, created_at DESC)');

    await queryRunner.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        parent_id uuid REFERENCES refresh_tokens(id) ON DELETE SET NULL,
        expires_at timestamptz(3) NOT NULL,
        used_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
      )`);
    await queryRunner.query('CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id)');
    await queryRunner.query('CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id)');

    await queryRunner.query(`
      CREATE TABLE email_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose varchar(32) NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
        token_hash char(64) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        used_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT email_tokens_token_hash_key UNIQUE (token_hash)
      )`);
    await queryRunner.query('CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id, purpose)');

    await queryRunner.query(`
      CREATE TABLE backup_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash char(64) NOT NULL,
        used_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT backup_codes_user_code_key UNIQUE (user_id, code_hash)
      )`);

    await queryRunner.query(`
      CREATE TABLE oauth_accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        provider varchar(32) NOT NULL,
        provider_user_id varchar(255) NOT NULL,
        email citext,
        access_token text,
        refresh_token text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT oauth_accounts_provider_subject_key UNIQUE (provider, provider_user_id),
        CONSTRAINT oauth_accounts_user_provider_key UNIQUE (user_id, provider)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'oauth_accounts',
      'backup_codes',
      'email_tokens',
      'refresh_tokens',
      'user_sessions',
      'users',
    ]) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
