import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail: append-only. Triggers refuse UPDATE, DELETE and TRUNCATE, so not even the
 * application's own database role can rewrite history. No foreign keys on purpose: an event outlives
 * the account, key or organization it names (a cascade would be a DELETE, which the trigger refuses).
 */
export class AuditEvents1763823000100 implements MigrationInterface {
  name = 'AuditEvents1763823000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        at timestamptz(3) NOT NULL DEFAULT clock_timestamp(),
        actor_type varchar(16) NOT NULL CHECK (actor_type IN ('user', 'apiKey', 'system')),
        actor_id uuid,
        actor_user_id uuid,
        subject_user_id uuid,
        action varchar(64) NOT NULL,
        target_type varchar(32),
        target_id varchar(255),
        org_id uuid,
        ip varchar(64),
        user_agent varchar(512),
        data jsonb NOT NULL DEFAULT '{}'
      )`);
    await queryRunner.query('CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC)');
    await queryRunner.query(
      'CREATE INDEX audit_events_org_at_idx ON audit_events (org_id, at DESC, id DESC) WHERE org_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX audit_events_actor_user_at_idx ON audit_events (actor_user_id, at DESC, id DESC) WHERE actor_user_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX audit_events_subject_at_idx ON audit_events (subject_user_id, at DESC, id DESC) WHERE subject_user_id IS NOT NULL',
    );
    await queryRunner.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE audit_events');
    await queryRunner.query('DROP FUNCTION audit_events_append_only()');
  }
}
