import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import type { LocalCache } from '#src/common/local-cache.js';
import { PgNotifications } from '#src/database/pg-notifications.js';
import { BudgetAlertsService } from './budget-alerts.service.js';
import type { BudgetAlert, BudgetScopeName } from './budget-alerts.service.js';
import { Budget } from './entities/budget.entity.js';
import { BudgetExceededError } from './metrics.errors.js';
import { addMoney, fromMicroCents, toMicroCents } from './money.js';

export interface BudgetStatus {
  monthlyLimitUsd: string | null;
  spentUsd: string;
  reservedUsd: string;
  remainingUsd: string | null;
  periodStart: string;
  periodEnd: string;
}

/**
 * Notified when a limit changes: by the `llm_budgets` trigger with the user id, by `org_budgets`'
 * with `org:<id>`, by `api_keys`' with `key:<id>` (migrations LlmBudgetLimitNotify, BudgetScopes).
 */
const LIMITS_CHANNEL = 'llm_budget_limits';

export interface OrgBudgetStatus {
  orgId: string;
  monthlyLimitUsd: string | null;
  memberMonthlyLimitUsd: string | null;
  alertThresholds: number[];
  spentUsd: string;
  reservedUsd: string;
  remainingUsd: string | null;
  periodStart: string;
  periodEnd: string;
}

const DEFAULT_THRESHOLDS = ['0.5', '0.8', '1'];

/** Everything a model call may be charged to; each one that has a limit is reserved against. */
export interface BudgetScopeRef {
  userId: string;
  /** The organization that owns the run's task. */
  orgId?: string | null;
  /** The API key that started the run. */
  apiKeyId?: string | null;
  taskId?: string | null;
  /** The task's `config.maxCostUsd` (over the task's whole life). */
  taskLimitUsd?: string | null;
}

/** An organization's limits as the hot path caches them. */
interface OrgLimits {
  org: string | null;
  member: string | null;
}

type CachedLimit = string | null | OrgLimits;

interface ReserveOutcome {
  id: string | null;
  exceeded: { scope: BudgetScopeName; id: string; limit: string; spent: string; reserved: string } | null;
  alerts: { scope: BudgetScopeName; id: string; limitUsd: string; spentUsd: string; threshold: string }[];
}

/**
 * An amount from `llm_budget_reserve`'s JSON answer: numeric(18,8) arrives as a JSON number, and
 * `String(1e-8)` is "1e-8", which no money helper reads; eight decimals restore the column's value.
 */
function jsonUsd(value: string | number): string {
  return addMoney(typeof value === 'number' ? value.toFixed(8) : value);
}

export function monthBounds(now: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start, end };
}

/**
 * Monthly budgets that hold under concurrency. A call reserves its worst-case cost before it
 * starts; the reservation and the check run in one transaction holding the user's budget row lock
 * (`SELECT … FOR UPDATE`), so concurrent reservations of a user are serialised and each one sees
 * every earlier reservation and settled record. Settling (`UsageService.settle`) inserts the usage
 * record and deletes the reservation in one statement, so a reader sees one or the other, never neither.
 *
 * PostgreSQL rather than a Redis counter: the spend *is* the usage table; a separate counter could
 * drift from it after a crash between the two writes. Reservations carry an expiry so a crashed
 * worker's reservation stops counting on its own.
 *
 * Whether a user has a limit at all is asked before every model call, so each process keeps the
 * answer (`LLM_BUDGET_LIMIT_CACHE_MS`). A trigger on `llm_budgets` notifies every change when it
 * commits, whoever writes it, and each process drops its copy on the notification; `setLimit`
 * returns only once its own process got it, so a call started after `setLimit` returned, anywhere,
 * sees the new limit. Only "no limit" lets a call skip the reservation; a kept limit still goes
 * through the locked transaction, which reads the row itself.
 */
@Injectable()
export class BudgetService {
  private limitWaiters = new Map<
    string,
    { resolve: (limit: string | null) => void; reject: (error: unknown) => void }[]
  >();
  private limitLookup: Promise<void> | null = null;
  private readonly limits: LocalCache<CachedLimit>;
  private readonly logger = new Logger(BudgetService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Budget) private readonly budgets: Repository<Budget>,
    private readonly notifications: PgNotifications,
    private readonly alerts: BudgetAlertsService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.limits = notifications.cache<CachedLimit>(LIMITS_CHANNEL, {
      ttlMs: config.get('llm', { infer: true }).budgetLimitCacheMs,
    });
  }

  /**
   * The user's limit. This runs before every model call, so lookups that arrive while one is in
   * flight are answered together by the next single query (`user_id = ANY(...)`).
   */
  getLimit(userId: string): Promise<string | null> {
    let waiting = this.limitWaiters.get(userId);
    if (!waiting) {
      waiting = [];
      this.limitWaiters.set(userId, waiting);
    }
    return new Promise<string | null>((resolve, reject) => {
      waiting.push({ resolve, reject });
      if (!this.limitLookup) this.limitLookup = this.lookupLimits();
    });
  }

  private async lookupLimits(): Promise<void> {
    while (this.limitWaiters.size) {
      const batch = this.limitWaiters;
      this.limitWaiters = new Map();
      try {
        const rows = await this.dataSource.query<{ user_id: string; monthly_limit_usd: string | null }[]>(
          'SELECT user_id, monthly_limit_usd FROM llm_budgets WHERE user_id = ANY($1::uuid[])',
          [[...batch.keys()]],
        );
        const limits = new Map(rows.map((row) => [row.user_id, row.monthly_limit_usd]));
        for (const [userId, waiters] of batch) for (const w of waiters) w.resolve(limits.get(userId) ?? null);
      } catch (error) {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
      }
    }
    this.limitLookup = null;
  }

  /** Sets (or with null removes) the monthly limit; numbers and strings are normalised to 8 decimals. */
  async setLimit(userId: string, monthlyLimitUsd: string | number | null): Promise<BudgetStatus> {
    const limit = monthlyLimitUsd === null ? null : fromMicroCents(toMicroCents(String(monthlyLimitUsd)));
    const notification = this.notifications.notified(LIMITS_CHANNEL, userId);
    try {
      await this.budgets.upsert({ userId, monthlyLimitUsd: limit }, ['userId']);
    } catch (error) {
      notification.cancel();
      throw error;
    }
    this.limits.drop(userId);
    await notification.received;
    return this.status(userId);
  }

  /** The organization's limits, this month's spend of its tasks and what calls in flight hold. */
  async orgStatus(orgId: string, now = new Date()): Promise<OrgBudgetStatus> {
    const { start, end } = monthBounds(now);
    const [row] = await this.dataSource.query<
      {
        monthly_limit_usd: string | null;
        member_monthly_limit_usd: string | null;
        alert_thresholds: string[] | null;
        spent: string;
        reserved: string;
      }[]
    >(
      `SELECT b.monthly_limit_usd, b.member_monthly_limit_usd, b.alert_thresholds,
              (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE org_id = $1 AND created_at >= $2)::numeric(18,8) AS spent,
              (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE org_id = $1 AND expires_at > now())::numeric(18,8) AS reserved
         FROM (SELECT 1) one LEFT JOIN org_budgets b ON b.org_id = $1`,
      [orgId, start],
    );
    const limit = row.monthly_limit_usd;
    const spent = addMoney(row.spent);
    const reserved = addMoney(row.reserved);
    return {
      orgId,
      monthlyLimitUsd: limit,
      memberMonthlyLimitUsd: row.member_monthly_limit_usd,
      alertThresholds: (row.alert_thresholds ?? DEFAULT_THRESHOLDS).map(Number),
      spentUsd: spent,
      reservedUsd: reserved,
      remainingUsd:
        limit === null ? null : fromMicroCents(toMicroCents(limit) - toMicroCents(spent) - toMicroCents(reserved)),
      periodStart: start.toISOString(),
      periodEnd: end.toISOString(),
    };
  }

  /**
   * Sets the organization's limits (null removes one). Returns once every process of this one has
   * dropped its cached copy (as `setLimit`): a call started afterwards sees the new limits.
   */
  async setOrgBudget(
    orgId: string,
    input: {
      monthlyLimitUsd: string | number | null;
      memberMonthlyLimitUsd: string | number | null;
      alertThresholds?: number[];
    },
  ): Promise<OrgBudgetStatus> {
    const money = (value: string | number | null) =>
      value === null ? null : fromMicroCents(toMicroCents(String(value)));
    const thresholds = input.alertThresholds ? [...new Set(input.alertThresholds)].sort((a, b) => a - b) : null;
    const notification = this.notifications.notified(LIMITS_CHANNEL, `org:${orgId}`);
    try {
      await this.dataSource.query(
        `INSERT INTO org_budgets (org_id, monthly_limit_usd, member_monthly_limit_usd, alert_thresholds)
         VALUES ($1, $2, $3, COALESCE($4::numeric[], '{0.5,0.8,1}'))
         ON CONFLICT (org_id) DO UPDATE SET monthly_limit_usd = EXCLUDED.monthly_limit_usd,
           member_monthly_limit_usd = EXCLUDED.member_monthly_limit_usd,
           alert_thresholds = COALESCE($4::numeric[], org_budgets.alert_thresholds), updated_at = now()`,
        [orgId, money(input.monthlyLimitUsd), money(input.memberMonthlyLimitUsd), thresholds],
      );
    } catch (error) {
      notification.cancel();
      throw error;
    }
    this.limits.drop(`org:${orgId}`);
    await notification.received;
    return this.orgStatus(orgId);
  }

  async status(userId: string, now = new Date()): Promise<BudgetStatus> {
    const limit = await this.getLimit(userId);
    const { start, end } = monthBounds(now);
    const { spent, reserved } = await this.committed(this.dataSource.manager, userId, start);
    const remaining =
      limit === null ? null : fromMicroCents(toMicroCents(limit) - toMicroCents(spent) - toMicroCents(reserved));
    return {
      monthlyLimitUsd: limit,
      spentUsd: spent,
      reservedUsd: reserved,
      remainingUsd: remaining,
      periodStart: start.toISOString(),
      periodEnd: end.toISOString(),
    };
  }

  /**
   * Reserves `amountUsd` against every limit that applies to `scope` (the user's, the
   * organization's and its per-member limit, the API key's, the task's) or throws
   * `BudgetExceededError` naming the first one that cannot cover it. Returns null when none of them
   * has a limit (nothing to hold), else the reservation id to pass to `settle`/`release`. The
   * amount may be given as a function: it is then only worked out when some limit applies.
   *
   * One statement (`llm_budget_reserve`, a plpgsql function): the locks, the sums, the threshold
   * bookkeeping and the reservation take one round trip and one transaction, however many limits
   * apply. Thresholds newly reached are reported (webhooks, mail) after it commits.
   */
  async reserve(
    scope: string | BudgetScopeRef,
    amount: string | (() => string),
    ttlMs: number,
  ): Promise<string | null> {
    const ref = typeof scope === 'string' ? { userId: scope } : scope;
    // Cheap path: most calls have no limit; a limit set while this call runs applies from the next call.
    if (!(await this.anyLimit(ref))) return null;
    const amountUsd = typeof amount === 'string' ? amount : amount();
    const [row] = await this.dataSource.query<{ outcome: ReserveOutcome }[]>(
      'SELECT llm_budget_reserve($1, $2, $3, $4, $5, $6, $7, $8) AS outcome',
      [
        ref.userId,
        ref.orgId ?? null,
        ref.apiKeyId ?? null,
        ref.taskId ?? null,
        ref.taskLimitUsd ?? null,
        amountUsd,
        ttlMs,
        monthBounds(new Date()).start,
      ],
    );
    const outcome = row.outcome;
    if (outcome.alerts.length) await this.report(ref, outcome.alerts);
    if (outcome.exceeded) {
      const exceeded = outcome.exceeded;
      throw new BudgetExceededError({
        scope: exceeded.scope,
        scopeId: exceeded.scope === 'member' ? ref.userId : exceeded.id,
        limitUsd: jsonUsd(exceeded.limit),
        spentUsd: jsonUsd(exceeded.spent),
        reservedUsd: jsonUsd(exceeded.reserved),
        requiredUsd: amountUsd,
      });
    }
    return outcome.id;
  }

  /**
   * The first limit that applies to `scope` and has no room for `amountUsd` now, as the error a
   * reservation would throw, or null when every one has room. Reads only (no lock, no reservation,
   * no threshold bookkeeping): a pre-check, e.g. before a run paused by its budget goes back to the
   * queue; the model call itself still reserves.
   */
  async shortfall(scope: BudgetScopeRef, amountUsd: string, now = new Date()): Promise<BudgetExceededError | null> {
    const rows = await this.dataSource.query<
      { scope: BudgetScopeName; id: string; limit: string; spent: string; reserved: string }[]
    >(
      `SELECT scope, id, lim::text AS "limit", spent::text AS spent, reserved::text AS reserved FROM (
         SELECT 1 AS ord, 'user' AS scope, $1::uuid::text AS id, b.monthly_limit_usd AS lim,
           (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE user_id = $1::uuid AND created_at >= $6::timestamptz) AS spent,
           (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE user_id = $1::uuid AND expires_at > now()) AS reserved
           FROM llm_budgets b WHERE b.user_id = $1::uuid AND b.monthly_limit_usd IS NOT NULL
         UNION ALL
         SELECT 2, 'org', $2::uuid::text, o.monthly_limit_usd,
           (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE org_id = $2::uuid AND created_at >= $6::timestamptz),
           (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE org_id = $2::uuid AND expires_at > now())
           FROM org_budgets o WHERE o.org_id = $2::uuid AND o.monthly_limit_usd IS NOT NULL
         UNION ALL
         SELECT 3, 'member', $1::uuid::text, o.member_monthly_limit_usd,
           (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE org_id = $2::uuid AND user_id = $1::uuid AND created_at >= $6::timestamptz),
           (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations
             WHERE org_id = $2::uuid AND user_id = $1::uuid AND expires_at > now())
           FROM org_budgets o WHERE o.org_id = $2::uuid AND o.member_monthly_limit_usd IS NOT NULL
         UNION ALL
         SELECT 4, 'apiKey', $3::uuid::text, k.monthly_limit_usd,
           (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE api_key_id = $3::uuid AND created_at >= $6::timestamptz),
           (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE api_key_id = $3::uuid AND expires_at > now())
           FROM api_keys k WHERE k.id = $3::uuid AND k.monthly_limit_usd IS NOT NULL
         UNION ALL
         SELECT 5, 'task', $4::uuid::text, $5::numeric,
           (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE task_id = $4::uuid),
           (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE task_id = $4::uuid AND expires_at > now())
           WHERE $4::uuid IS NOT NULL AND $5::numeric IS NOT NULL
       ) limits
       WHERE spent + reserved + $7::numeric > lim
       ORDER BY ord LIMIT 1`,
      [
        scope.userId,
        scope.orgId ?? null,
        scope.apiKeyId ?? null,
        scope.taskId ?? null,
        scope.taskLimitUsd ?? null,
        monthBounds(now).start,
        amountUsd,
      ],
    );
    const row = rows[0];
    if (!row) return null;
    return new BudgetExceededError({
      scope: row.scope,
      scopeId: row.id,
      limitUsd: addMoney(row.limit),
      spentUsd: addMoney(row.spent),
      reservedUsd: addMoney(row.reserved),
      requiredUsd: amountUsd,
    });
  }

  /**
   * Reports newly reached thresholds (rare: once per threshold, scope and period). The webhook
   * deliveries are recorded before the call goes on; mail goes out in the background. A failure
   * here is logged and does not fail the model call.
   */
  private async report(ref: BudgetScopeRef, reached: ReserveOutcome['alerts']): Promise<void> {
    const alerts: BudgetAlert[] = reached.map((a) => ({
      scope: a.scope,
      // Member alerts are stored per organization and user; the event names the user.
      id: a.scope === 'member' ? ref.userId : a.id,
      userId: ref.userId,
      orgId: a.scope === 'org' || a.scope === 'member' ? (ref.orgId ?? null) : null,
      limitUsd: jsonUsd(a.limitUsd),
      spentUsd: jsonUsd(a.spentUsd),
      threshold: Number(a.threshold),
    }));
    await this.alerts.emit(alerts).catch((error: unknown) => {
      this.logger.error({ err: error, alerts }, 'Reporting budget thresholds failed');
    });
  }

  /** Whether any limit applies to the call (each answer cached per process, dropped on change). */
  private async anyLimit(ref: BudgetScopeRef): Promise<boolean> {
    if (ref.taskId && ref.taskLimitUsd) return true;
    if ((await this.cachedLimit(ref.userId)) !== null) return true;
    if (ref.orgId) {
      const org = await this.cachedOrgLimits(ref.orgId);
      if (org.org !== null || org.member !== null) return true;
    }
    if (ref.apiKeyId && (await this.cachedKeyLimit(ref.apiKeyId)) !== null) return true;
    return false;
  }

  private async cachedLimit(userId: string): Promise<string | null> {
    const cached = this.limits.get(userId) as string | null | undefined;
    if (cached !== undefined) return cached;
    const token = this.limits.token();
    const limit = await this.getLimit(userId);
    this.limits.set(userId, limit, token);
    return limit;
  }

  private async cachedOrgLimits(orgId: string): Promise<OrgLimits> {
    const key = `org:${orgId}`;
    const cached = this.limits.get(key) as OrgLimits | undefined;
    if (cached !== undefined) return cached;
    const token = this.limits.token();
    const rows = await this.dataSource.query<
      { monthly_limit_usd: string | null; member_monthly_limit_usd: string | null }[]
    >('SELECT monthly_limit_usd, member_monthly_limit_usd FROM org_budgets WHERE org_id = $1', [orgId]);
    const limits: OrgLimits = {
      org: rows[0]?.monthly_limit_usd ?? null,
      member: rows[0]?.member_monthly_limit_usd ?? null,
    };
    this.limits.set(key, limits, token);
    return limits;
  }

  private async cachedKeyLimit(keyId: string): Promise<string | null> {
    const key = `key:${keyId}`;
    const cached = this.limits.get(key) as string | null | undefined;
    if (cached !== undefined) return cached;
    const token = this.limits.token();
    const rows = await this.dataSource.query<{ monthly_limit_usd: string | null }[]>(
      'SELECT monthly_limit_usd FROM api_keys WHERE id = $1',
      [keyId],
    );
    const limit = rows[0]?.monthly_limit_usd ?? null;
    this.limits.set(key, limit, token);
    return limit;
  }

  async release(reservationId: string | null): Promise<void> {
    if (reservationId === null) return;
    await this.dataSource.query('DELETE FROM llm_budget_reservations WHERE id = $1', [reservationId]);
  }

  /** Spend since `since` and live reservations, read in ONE statement (one snapshot). */
  private async committed(
    manager: EntityManager,
    userId: string,
    since: Date,
  ): Promise<{ spent: string; reserved: string }> {
    const rows = await manager.query<{ spent: string; reserved: string }[]>(
      `SELECT
         (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE user_id = $1 AND created_at >= $2)::numeric(18,8) AS spent,
         (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE user_id = $1 AND expires_at > now())::numeric(18,8) AS reserved`,
      [userId, since],
    );
    return { spent: addMoney(rows[0].spent), reserved: addMoney(rows[0].reserved) };
  }
}
