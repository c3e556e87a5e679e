import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The LangGraph PostgreSQL checkpointer's tables (@langchain/langgraph-checkpoint-postgres 1.x), in
 * their own schema. Created here rather than by `PostgresSaver.setup()` at start so that concurrent
 * workers never race on DDL and the test template database already has them. Version rows 0..4 are
 * recorded as the library's own `setup()` would, so calling it later is a no-op.
 */
export class AgentCheckpoints1763803000001 implements MigrationInterface {
  name = 'AgentCheckpoints1763803000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE SCHEMA IF NOT EXISTS langgraph');
    await queryRunner.query('CREATE TABLE IF NOT EXISTS langgraph.checkpoint_migrations (v INTEGER PRIMARY KEY)');
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS langgraph.checkpoints (
        thread_id TEXT NOT NULL,
        checkpoint_ns TEXT NOT NULL DEFAULT '',
        checkpoint_id TEXT NOT NULL,
        parent_checkpoint_id TEXT,
        type TEXT,
        checkpoint JSONB NOT NULL,
        metadata JSONB NOT NULL DEFAULT '{}',
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS langgraph.checkpoint_blobs (
        thread_id TEXT NOT NULL,
        checkpoint_ns TEXT NOT NULL DEFAULT '',
        channel TEXT NOT NULL,
        version TEXT NOT NULL,
        type TEXT NOT NULL,
        blob BYTEA,
        PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
      )`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS langgraph.checkpoint_writes (
        thread_id TEXT NOT NULL,
        checkpoint_ns TEXT NOT NULL DEFAULT '',
        checkpoint_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        channel TEXT NOT NULL,
        type TEXT,
        blob BYTEA NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
      )`);
    await queryRunner.query(
      'INSERT INTO langgraph.checkpoint_migrations (v) VALUES (0), (1), (2), (3), (4) ON CONFLICT DO NOTHING',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP SCHEMA IF EXISTS langgraph CASCADE');
  }
}
