import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import type { LocalCache } from '#src/common/local-cache.js';
import { PgNotifications } from '#src/database/pg-notifications.js';
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

/** Notified by the `llm_budgets` trigger (migration LlmBudgetLimitNotify) with the user id. */
const LIMITS_CHANNEL = 'llm_budget_limits';

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
  private readonly limits: LocalCache<string | null>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Budget) private readonly budgets: Repository<Budget>,
    private readonly notifications: PgNotifications,
    config: ConfigService<AllConfig, true>,
  ) {
    this.limits = notifications.cache<string | null>(LIMITS_CHANNEL, {
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
   * Reserves `amountUsd` or throws `BudgetExceededError`. Returns null when the user has no limit
   * (nothing to hold), else the reservation id to pass to `settle`/`release`. The amount may be
   * given as a function: it is then only worked out for users with a limit.
   */
  async reserve(userId: string, amount: string | (() => string), ttlMs: number): Promise<string | null> {
    // Cheap path: most users have no limit; a limit set while this call runs applies from the next call.
    if ((await this.cachedLimit(userId)) === null) return null;
    const amountUsd = typeof amount === 'string' ? amount : amount();
    return this.dataSource.transaction('READ COMMITTED', async (manager) => {
      const locked = await manager.query<{ monthly_limit_usd: string | null }[]>(
        'SELECT monthly_limit_usd FROM llm_budgets WHERE user_id = $1 FOR UPDATE',
        [userId],
      );
      const limit = locked[0]?.monthly_limit_usd ?? null;
      if (limit === null) return null;
      // A new statement after the lock is granted: its snapshot includes everything the previous
      // lock holder committed.
      const { spent, reserved } = await this.committed(manager, userId, monthBounds(new Date()).start);
      const after = toMicroCents(spent) + toMicroCents(reserved) + toMicroCents(amountUsd);
      if (after > toMicroCents(limit)) {
        throw new BudgetExceededError({
          limitUsd: limit,
          spentUsd: spent,
          reservedUsd: reserved,
          requiredUsd: amountUsd,
        });
      }
      const inserted = await manager.query<{ id: string }[]>(
        `INSERT INTO llm_budget_reservations (user_id, amount_usd, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000)) RETURNING id`,
        [userId, amountUsd, ttlMs],
      );
      return inserted[0].id;
    });
  }

  private async cachedLimit(userId: string): Promise<string | null> {
    const cached = this.limits.get(userId);
    if (cached !== undefined) return cached;
    const token = this.limits.token();
    const limit = await this.getLimit(userId);
    this.limits.set(userId, limit, token);
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
