import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Prompt caching, routing and provider controls (issue 16):
 * - `llm_usage.cache_write_input_tokens`: prompt tokens written to the provider's cache (Anthropic
 *   bills them at a premium); `cached_input_tokens` keeps the cache reads.
 * - the run's and each step's cache reads, and the step's routing decision.
 * - `llm_provider_controls`: an admin's `disabled` / `forced` per provider, globally (org_id null)
 *   or for one organization.
 */
export class PromptCachingRoutingProviderControls1763827000000 implements MigrationInterface {
  name = 'PromptCachingRoutingProviderControls1763827000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE llm_usage ADD COLUMN cache_write_input_tokens integer NOT NULL DEFAULT 0');
    await queryRunner.query('ALTER TABLE runs ADD COLUMN cached_input_tokens integer NOT NULL DEFAULT 0');
    await queryRunner.query('ALTER TABLE run_steps ADD COLUMN cached_input_tokens integer NOT NULL DEFAULT 0');
    await queryRunner.query('ALTER TABLE run_steps ADD COLUMN routing jsonb NULL');
    await queryRunner.query(`
      CREATE TABLE llm_provider_controls (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NULL REFERENCES organizations(id) ON DELETE CASCADE,
        provider varchar(32) NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        forced boolean NOT NULL DEFAULT false,
        updated_by uuid NULL REFERENCES users(id) ON DELETE SET NULL,
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX llm_provider_controls_scope ON llm_provider_controls (COALESCE(org_id, '00000000-0000-0000-0000-000000000000'::uuid), provider)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE llm_provider_controls');
    await queryRunner.query('ALTER TABLE run_steps DROP COLUMN routing');
    await queryRunner.query('ALTER TABLE run_steps DROP COLUMN cached_input_tokens');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN cached_input_tokens');
    await queryRunner.query('ALTER TABLE llm_usage DROP COLUMN cache_write_input_tokens');
  }
}
