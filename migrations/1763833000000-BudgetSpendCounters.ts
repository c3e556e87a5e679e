import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The settled-spend expression of each scope inside `llm_budget_reserve` (its parameters in scope). */
interface SpentExpressions {
  user: string;
  org: string;
  member: string;
  apiKey: string;
  task: string;
}

const counter = (scope: string, id: string, period: string) =>
  `COALESCE((SELECT spent_usd FROM llm_spend WHERE scope = '${scope}' AND scope_id = ${id} AND period_start = ${period}), 0)`;

/** Read from the running totals: one primary-key lookup per scope, however much was spent. */
const FROM_COUNTERS: SpentExpressions = {
  user: counter('user', 'p_user::text', 'p_period_start'),
  org: counter('org', 'p_org::text', 'p_period_start'),
  member: counter('member', "p_org::text || ':' || p_user::text", 'p_period_start'),
  apiKey: counter('apiKey', 'p_key::text', 'p_period_start'),
  task: counter('task', 'p_task::text', "'epoch'::timestamptz"),
};

/** What 1763824000100-BudgetScopes summed: every usage row of the scope's period, on every call. */
const FROM_USAGE_ROWS: SpentExpressions = {
  user: '(SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE user_id = p_user AND created_at >= p_period_start)',
  org: '(SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE org_id = p_org AND created_at >= p_period_start)',
  member:
    '(SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE org_id = p_org AND user_id = p_user AND created_at >= p_period_start)',
  apiKey:
    '(SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE api_key_id = p_key AND created_at >= p_period_start)',
  task: '(SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE task_id = p_task)',
};

/** `llm_budget_reserve` as 1763824000100-BudgetScopes defined it, with the settled spend read from `spent`. */
const reserveFunction = (spent: SpentExpressions) => `
      CREATE OR REPLACE FUNCTION llm_budget_reserve(
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
            ${spent.user},
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
              ${spent.org},
              (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE org_id = p_org AND expires_at > now())
            INTO v_spent, v_reserved;
            v_scopes := v_scopes || jsonb_build_object('scope', 'org', 'id', p_org, 'limit', v_org_limit,
              'spent', v_spent, 'reserved', v_reserved, 'thresholds', to_jsonb(v_org_thresholds), 'period', p_period_start);
          END IF;
          IF v_member_limit IS NOT NULL THEN
            SELECT
              ${spent.member},
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
              ${spent.apiKey},
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
            ${spent.task},
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
      END $$`;

/** Every scope a usage row counts against: its month (UTC), or for a task its whole life (epoch). */
const SPEND_ROWS = `
  SELECT 'user' AS scope, n.user_id::text AS scope_id, date_trunc('month', n.created_at, 'UTC') AS period_start, n.cost_usd
    FROM new_rows n WHERE n.user_id IS NOT NULL
  UNION ALL
  SELECT 'org', n.org_id::text, date_trunc('month', n.created_at, 'UTC'), n.cost_usd FROM new_rows n WHERE n.org_id IS NOT NULL
  UNION ALL
  SELECT 'member', n.org_id::text || ':' || n.user_id::text, date_trunc('month', n.created_at, 'UTC'), n.cost_usd
    FROM new_rows n WHERE n.org_id IS NOT NULL AND n.user_id IS NOT NULL
  UNION ALL
  SELECT 'apiKey', n.api_key_id::text, date_trunc('month', n.created_at, 'UTC'), n.cost_usd
    FROM new_rows n WHERE n.api_key_id IS NOT NULL
  UNION ALL
  SELECT 'task', n.task_id::text, 'epoch'::timestamptz, n.cost_usd FROM new_rows n WHERE n.task_id IS NOT NULL`;

/**
 * Running totals of settled spend per budget scope and period (`llm_spend`), kept by a statement
 * trigger on `llm_usage` inserts in the same transaction as the usage rows (and so as the end of
 * their reservations, which the settling statement deletes), and read by `llm_budget_reserve`
 * instead of summing the period's usage rows on every model call. The sum grew with every call of
 * the month (an organization's hundred-thousandth call summed a hundred thousand rows, per scope);
 * a total is one primary-key lookup. Rows are upserted in key order, so concurrent settles cannot
 * deadlock on them. Usage rows are only ever inserted (a deleted account's personal rows go with
 * it, and nothing reserves for that account again), so totals never need to be taken back.
 */
export class BudgetSpendCounters1763833000000 implements MigrationInterface {
  name = 'BudgetSpendCounters1763833000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE llm_spend (
        scope varchar(8) NOT NULL,
        scope_id varchar(80) NOT NULL,
        period_start timestamptz NOT NULL,
        spent_usd numeric(18,8) NOT NULL,
        PRIMARY KEY (scope, scope_id, period_start)
      )`);
    await queryRunner.query(`
      CREATE FUNCTION llm_usage_add_spend() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO llm_spend (scope, scope_id, period_start, spent_usd)
          SELECT scope, scope_id, period_start, SUM(cost_usd) FROM (${SPEND_ROWS}) s
           GROUP BY scope, scope_id, period_start
           ORDER BY scope, scope_id, period_start
        ON CONFLICT (scope, scope_id, period_start) DO UPDATE SET spent_usd = llm_spend.spent_usd + EXCLUDED.spent_usd;
        RETURN NULL;
      END $$`);
    // Lock out writers while the totals are taken, so no usage row is counted twice or missed.
    await queryRunner.query('LOCK TABLE llm_usage IN SHARE MODE');
    await queryRunner.query(`
      INSERT INTO llm_spend (scope, scope_id, period_start, spent_usd)
        SELECT scope, scope_id, period_start, SUM(cost_usd)
          FROM (${SPEND_ROWS.replaceAll('new_rows', 'llm_usage')}) s
         GROUP BY scope, scope_id, period_start`);
    await queryRunner.query(`
      CREATE TRIGGER llm_usage_add_spend AFTER INSERT ON llm_usage
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION llm_usage_add_spend()`);
    await queryRunner.query(reserveFunction(FROM_COUNTERS));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(reserveFunction(FROM_USAGE_ROWS));
    await queryRunner.query('DROP TRIGGER llm_usage_add_spend ON llm_usage');
    await queryRunner.query('DROP FUNCTION llm_usage_add_spend()');
    await queryRunner.query('DROP TABLE llm_spend');
  }
}
