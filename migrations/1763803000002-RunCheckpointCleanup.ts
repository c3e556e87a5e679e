import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * LangGraph keys its checkpoints by thread id (= run id) as text, with no foreign key to `runs`.
 * This trigger removes a run's checkpoints when the run row goes (task deleted, account erased),
 * so generated code kept in checkpoints never outlives the data it belongs to.
 */
export class RunCheckpointCleanup1763803000002 implements MigrationInterface {
  name = 'RunCheckpointCleanup1763803000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION langgraph.delete_run_checkpoints() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM langgraph.checkpoint_writes WHERE thread_id = OLD.id::text;
        DELETE FROM langgraph.checkpoint_blobs WHERE thread_id = OLD.id::text;
        DELETE FROM langgraph.checkpoints WHERE thread_id = OLD.id::text;
        RETURN OLD;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER runs_delete_checkpoints AFTER DELETE ON runs FOR EACH ROW EXECUTE FUNCTION langgraph.delete_run_checkpoints()',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER IF EXISTS runs_delete_checkpoints ON runs');
    await queryRunner.query('DROP FUNCTION IF EXISTS langgraph.delete_run_checkpoints()');
  }
}
