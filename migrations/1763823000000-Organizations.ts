import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Organizations, their memberships (roles owner > admin > member > viewer) and invitations; an
 * optional `org_id` on the resources an organization can own (tasks, their runs, repositories,
 * webhook subscriptions). A resource with `org_id` belongs to the organization: its `user_id` is the
 * author, kept for the record and for the author's own limits.
 */
export class Organizations1763823000000 implements MigrationInterface {
  name = 'Organizations1763823000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE org_memberships (
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, user_id)
      )`);
    await queryRunner.query('CREATE INDEX org_memberships_user_idx ON org_memberships (user_id, org_id)');
    await queryRunner.query(`
      CREATE TABLE org_invitations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        email citext NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
        token_hash char(64) NOT NULL UNIQUE,
        invited_by uuid REFERENCES users(id) ON DELETE SET NULL,
        expires_at timestamptz(3) NOT NULL,
        accepted_at timestamptz(3),
        accepted_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX org_invitations_org_created_idx ON org_invitations (org_id, created_at DESC, id DESC)',
    );
    for (const table of ['tasks', 'runs', 'repositories', 'webhook_subscriptions']) {
      await queryRunner.query(
        `ALTER TABLE ${table} ADD COLUMN org_id uuid REFERENCES organizations(id) ON DELETE CASCADE`,
      );
    }
    await queryRunner.query(
      'CREATE INDEX tasks_org_created_idx ON tasks (org_id, created_at DESC, id DESC) WHERE org_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX runs_org_created_idx ON runs (org_id, created_at DESC, id DESC) WHERE org_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX repositories_org_created_idx ON repositories (org_id, created_at DESC, id DESC) WHERE org_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX webhook_subscriptions_org_idx ON webhook_subscriptions (org_id, created_at, id) WHERE org_id IS NOT NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['webhook_subscriptions', 'repositories', 'runs', 'tasks']) {
      await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN org_id`);
    }
    await queryRunner.query('DROP TABLE org_invitations');
    await queryRunner.query('DROP TABLE org_memberships');
    await queryRunner.query('DROP TABLE organizations');
  }
}
