import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Budgets at every level: the organization and each of its members (`org_budgets`), each API key
 * (`api_keys.monthly_limit_usd`) and each task (`config.maxCostUsd`, passed in by the caller), next
 * to the user's own (`llm_budgets`). Usage records and reservations say which organization and key
 * they count against; `budget_alerts` remembers which threshold of which scope was reported in which
 * period, so each is reported once.
 *
 * `llm_budget_reserve` is the whole reservation in one statement (one round trip, one transaction):
 * it locks every limit that applies in a fixed order (user row, organization row — which also
 * covers the per-member limit —, then advisory locks for the key and the task), so concurrent
 * reservations sharing any limit are serialised and cannot deadlock; each later statement of the
 * function reads a fresh snapshot, so it sees everything the previous lock holder committed.
 */
export class BudgetScopes1763824000100 implements MigrationInterface {
  name = 'BudgetScopes1763824000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE api_keys ADD CONSTRAINT api_keys_org_fk FOREIGN KEY (org_id) REFERENCES organizations(id) ON DELETE CASCADE',
    );
    await queryRunner.query('ALTER TABLE runs ADD COLUMN api_key_id uuid REFERENCES api_keys(id) ON DELETE SET NULL');
    await queryRunner.query(
      'ALTER TABLE llm_usage ADD COLUMN org_id uuid REFERENCES organizations(id) ON DELETE SET NULL, ADD COLUMN api_key_id uuid REFERENCES api_keys(id) ON DELETE SET NULL',
    );
    await queryRunner.query(
      'CREATE INDEX idx_llm_usage_org_created ON llm_usage (org_id, created_at) WHERE org_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX idx_llm_usage_key_created ON llm_usage (api_key_id, created_at) WHERE api_key_id IS NOT NULL',
    );
    await queryRunner.query('CREATE INDEX idx_llm_usage_task ON llm_usage (task_id) WHERE task_id IS NOT NULL');
    await queryRunner.query(
      'ALTER TABLE llm_budget_reservations ADD COLUMN org_id uuid, ADD COLUMN api_key_id uuid, ADD COLUMN task_id uuid',
    );
    await queryRunner.query(
      'CREATE INDEX idx_llm_budget_reservations_org ON llm_budget_reservations (org_id, expires_at) WHERE org_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX idx_llm_budget_reservations_key ON llm_budget_reservations (api_key_id, expires_at) WHERE api_key_id IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX idx_llm_budget_reservations_task ON llm_budget_reservations (task_id, expires_at) WHERE task_id IS NOT NULL',
    );
    await queryRunner.query(`
      CREATE TABLE org_budgets (
        org_id uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
        monthly_limit_usd numeric(18,8) CHECK (monthly_limit_usd >= 0),
        member_monthly_limit_usd numeric(18,8) CHECK (member_monthly_limit_usd >= 0),
        alert_thresholds numeric(4,3)[] NOT NULL DEFAULT '{0.5,0.8,1}',
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE budget_alerts (
        scope varchar(8) NOT NULL CHECK (scope IN ('user', 'org', 'member', 'apiKey', 'task')),
        scope_id text NOT NULL,
        period_start timestamptz(3) NOT NULL,
        threshold numeric(4,3) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, scope_id, period_start, threshold)
      )`);
    // Limits are cached per process ("no limit" skips the reservation): every change notifies.
    await queryRunner.query(`
      CREATE FUNCTION org_budgets_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify('llm_budget_limits', '*');
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('llm_budget_limits', 'org:' || OLD.org_id::text);
        ELSE
          PERFORM pg_notify('llm_budget_limits', 'org:' || NEW.org_id::text);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      'CREATE TRIGGER org_budgets_notify AFTER INSERT OR UPDATE OR DELETE ON org_budgets FOR EACH ROW EXECUTE FUNCTION org_budgets_notify()',
    );
    await queryRunner.query(
      'CREATE TRIGGER org_budgets_notify_truncate AFTER TRUNCATE ON org_budgets FOR EACH STATEMENT EXECUTE FUNCTION org_budgets_notify()',
    );
    await queryRunner.query(`
      CREATE FUNCTION api_keys_limit_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('llm_budget_limits', 'key:' || NEW.id::text);
        RETURN NULL;
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER api_keys_limit_notify AFTER UPDATE OF monthly_limit_usd ON api_keys FOR EACH ROW
       WHEN (OLD.monthly_limit_usd IS DISTINCT FROM NEW.monthly_limit_usd) EXECUTE FUNCTION api_keys_limit_notify()`,
    );
    await queryRunner.query(`
      CREATE FUNCTION llm_budget_reserve(
        p_user uuid, p_org uuid, p_key uuid, p_task uuid, p_task_limit numeric,
        p_amount numeric, p_ttl_ms double precision, p_period_start timestamptz
      ) RETURNS jsonb LANGUAGE plpgsql AS $$
      DECLARE
        defaults CONSTANT numeric[] := '{0.5,0.8,1}';
        v_user_limit numeric;
        v_org_limit numeric;
        v_member_limit numeric;
        v_org_thresholds numeric[];
        v_key_limit numeric;
        v_scopes jsonb := '[]';
        v_scope jsonb;
        v_limit numeric;
        v_spent numeric;
        v_reserved numeric;
        v_used numeric;
        v_period timestamptz;
        v_threshold numeric;
        v_alerts jsonb := '[]';
        v_exceeded jsonb;
        v_id uuid;
      BEGIN
        -- Locks, always in this order: user, organization (and its members), key, task.
        SELECT monthly_limit_usd INTO v_user_limit FROM llm_budgets WHERE user_id = p_user FOR UPDATE;
        IF v_user_limit IS NOT NULL THEN
          SELECT
            (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE user_id = p_user AND created_at >= p_period_start),
            (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE user_id = p_user AND expires_at > now())
          INTO v_spent, v_reserved;
          v_scopes := v_scopes || jsonb_build_object('scope', 'user', 'id', p_user, 'limit', v_user_limit,
            'spent', v_spent, 'reserved', v_reserved, 'thresholds', to_jsonb(defaults), 'period', p_period_start);
        END IF;
        IF p_org IS NOT NULL THEN
          SELECT monthly_limit_usd, member_monthly_limit_usd, alert_thresholds
            INTO v_org_limit, v_member_limit, v_org_thresholds
            FROM org_budgets WHERE org_id = p_org FOR UPDATE;
          IF v_org_limit IS NOT NULL THEN
            SELECT
              (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE org_id = p_org AND created_at >= p_period_start),
              (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE org_id = p_org AND expires_at > now())
            INTO v_spent, v_reserved;
            v_scopes := v_scopes || jsonb_build_object('scope', 'org', 'id', p_org, 'limit', v_org_limit,
              'spent', v_spent, 'reserved', v_reserved, 'thresholds', to_jsonb(v_org_thresholds), 'period', p_period_start);
          END IF;
          IF v_member_limit IS NOT NULL THEN
            SELECT
              (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage
                WHERE org_id = p_org AND user_id = p_user AND created_at >= p_period_start),
              (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations
                WHERE org_id = p_org AND user_id = p_user AND expires_at > now())
            INTO v_spent, v_reserved;
            v_scopes := v_scopes || jsonb_build_object('scope', 'member', 'id', p_org || ':' || p_user,
              'limit', v_member_limit, 'spent', v_spent, 'reserved', v_reserved,
              'thresholds', to_jsonb(v_org_thresholds), 'period', p_period_start);
          END IF;
        END IF;
        IF p_key IS NOT NULL THEN
          SELECT monthly_limit_usd INTO v_key_limit FROM api_keys WHERE id = p_key;
          IF v_key_limit IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('llm_budget:key:' || p_key::text, 0));
            SELECT
              (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE api_key_id = p_key AND created_at >= p_period_start),
              (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE api_key_id = p_key AND expires_at > now())
            INTO v_spent, v_reserved;
            v_scopes := v_scopes || jsonb_build_object('scope', 'apiKey', 'id', p_key, 'limit', v_key_limit,
              'spent', v_spent, 'reserved', v_reserved, 'thresholds', to_jsonb(defaults), 'period', p_period_start);
          END IF;
        END IF;
        IF p_task IS NOT NULL AND p_task_limit IS NOT NULL THEN
          PERFORM pg_advisory_xact_lock(hashtextextended('llm_budget:task:' || p_task::text, 0));
          -- A task's limit covers the task's whole life, not a month.
          SELECT
            (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE task_id = p_task),
            (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE task_id = p_task AND expires_at > now())
          INTO v_spent, v_reserved;
          v_scopes := v_scopes || jsonb_build_object('scope', 'task', 'id', p_task, 'limit', p_task_limit,
            'spent', v_spent, 'reserved', v_reserved, 'thresholds', to_jsonb(defaults), 'period', 'epoch'::timestamptz);
        END IF;

        FOR v_scope IN SELECT * FROM jsonb_array_elements(v_scopes) LOOP
          v_limit := (v_scope->>'limit')::numeric;
          v_spent := (v_scope->>'spent')::numeric;
          v_reserved := (v_scope->>'reserved')::numeric;
          v_period := (v_scope->>'period')::timestamptz;
          IF v_exceeded IS NULL AND v_spent + v_reserved + p_amount > v_limit THEN
            v_exceeded := v_scope - 'thresholds' - 'period';
          END IF;
          -- What counts for thresholds is the settled spend; a refused call means the limit is reached.
          v_used := CASE WHEN v_exceeded IS NOT NULL AND v_exceeded->>'scope' = v_scope->>'scope' THEN v_limit
                         ELSE v_spent END;
          FOR v_threshold IN SELECT jsonb_array_elements_text(v_scope->'thresholds')::numeric LOOP
            IF v_used >= v_threshold * v_limit THEN
              INSERT INTO budget_alerts (scope, scope_id, period_start, threshold)
                VALUES (v_scope->>'scope', v_scope->>'id', v_period, v_threshold)
                ON CONFLICT DO NOTHING;
              IF FOUND THEN
                v_alerts := v_alerts || jsonb_build_object('scope', v_scope->>'scope', 'id', v_scope->>'id',
                  'limitUsd', v_limit, 'spentUsd', v_spent, 'threshold', v_threshold);
              END IF;
            END IF;
          END LOOP;
        END LOOP;

        IF v_exceeded IS NULL AND jsonb_array_length(v_scopes) > 0 THEN
          INSERT INTO llm_budget_reservations (user_id, org_id, api_key_id, task_id, amount_usd, expires_at)
            VALUES (p_user, p_org, p_key, p_task, p_amount,
                    now() + make_interval(secs => p_ttl_ms / 1000))
            RETURNING id INTO v_id;
        END IF;
        RETURN jsonb_build_object('id', v_id, 'exceeded', v_exceeded, 'alerts', v_alerts);
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP FUNCTION llm_budget_reserve(uuid, uuid, uuid, uuid, numeric, numeric, double precision, timestamptz)',
    );
    await queryRunner.query('DROP TRIGGER api_keys_limit_notify ON api_keys');
    await queryRunner.query('DROP FUNCTION api_keys_limit_notify()');
    await queryRunner.query('DROP TABLE budget_alerts');
    await queryRunner.query('DROP TABLE org_budgets');
    await queryRunner.query('DROP FUNCTION org_budgets_notify()');
    await queryRunner.query('DROP INDEX idx_llm_budget_reservations_task');
    await queryRunner.query('DROP INDEX idx_llm_budget_reservations_key');
    await queryRunner.query('DROP INDEX idx_llm_budget_reservations_org');
    await queryRunner.query(
      'ALTER TABLE llm_budget_reservations DROP COLUMN task_id, DROP COLUMN api_key_id, DROP COLUMN org_id',
    );
    await queryRunner.query('ALTER TABLE llm_usage DROP COLUMN api_key_id, DROP COLUMN org_id');
    await queryRunner.query('ALTER TABLE runs DROP COLUMN api_key_id');
    await queryRunner.query('ALTER TABLE api_keys DROP CONSTRAINT api_keys_org_fk');
  }
}
