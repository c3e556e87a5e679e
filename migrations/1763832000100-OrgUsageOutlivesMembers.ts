import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An organization's resources outlive the account of the member who made them: deleting the
 * account hands them to an owner (see MemberDepartureService). What the member spent on the
 * organization's tasks stays counted against its budget and in its usage reports, as a former
 * member's (`user_id` null): it is the organization's record of spend, not the member's data. The
 * member's own usage (`org_id` null) is still erased with the account, by a trigger, whatever
 * deletes the user row.
 */
export class OrgUsageOutlivesMembers1763832000100 implements MigrationInterface {
  name = 'OrgUsageOutlivesMembers1763832000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE llm_usage DROP CONSTRAINT llm_usage_user_id_fkey');
    await queryRunner.query('ALTER TABLE llm_usage ALTER COLUMN user_id DROP NOT NULL');
    await queryRunner.query(
      'ALTER TABLE llm_usage ADD CONSTRAINT llm_usage_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL',
    );
    await queryRunner.query(`
      CREATE FUNCTION users_erase_own_usage() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM llm_usage WHERE user_id = OLD.id AND org_id IS NULL;
        RETURN OLD;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER users_erase_own_usage BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_erase_own_usage()',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER users_erase_own_usage ON users');
    await queryRunner.query('DROP FUNCTION users_erase_own_usage()');
    await queryRunner.query('DELETE FROM llm_usage WHERE user_id IS NULL');
    await queryRunner.query('ALTER TABLE llm_usage DROP CONSTRAINT llm_usage_user_id_fkey');
    await queryRunner.query('ALTER TABLE llm_usage ALTER COLUMN user_id SET NOT NULL');
    await queryRunner.query(
      'ALTER TABLE llm_usage ADD CONSTRAINT llm_usage_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE',
    );
  }
}
