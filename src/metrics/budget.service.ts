import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import { BudgetExceededError } from '#src/agents/llm/llm.errors.js';
import { Budget } from './entities/budget.entity.js';
import { addMoney, fromMicroCents, toMicroCents } from './money.js';

export interface BudgetStatus {
  monthlyLimitUsd: string | null;
  spentUsd: string;
  reservedUsd: string;
  remainingUsd: string | null;
  periodStart: string;
  periodEnd: string;
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
 * every earlier reservation and settled record. Settling inserts the usage record and deletes the
 * reservation in one transaction, so a reader always sees one or the other, never neither.
 *
 * PostgreSQL rather than a Redis counter: the spend *is* the usage table; a separate counter could
 * drift from it after a crash between the two writes. Reservations carry an expiry so a crashed
 * worker's reservation stops counting on its own.
 */
@Injectable()
export class BudgetService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Budget) private readonly budgets: Repository<Budget>,
  ) {}

  async getLimit(userId: string): Promise<string | null> {
    const row = await this.budgets.findOne({ where: { userId }, select: { userId: true, monthlyLimitUsd: true } });
    return row?.monthlyLimitUsd ?? null;
  }

  async setLimit(userId: string, monthlyLimitUsd: string | null): Promise<BudgetStatus> {
    await this.budgets.upsert({ userId, monthlyLimitUsd }, ['userId']);
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
   * (nothing to hold), else the reservation id to pass to `settle`/`release`.
   */
  async reserve(userId: string, amountUsd: string, ttlMs: number): Promise<string | null> {
    // Cheap path: most users have no limit; a limit set while this call runs applies from the next call.
    if ((await this.getLimit(userId)) === null) return null;
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
        throw new BudgetExceededError({ limitUsd: limit, spentUsd: spent, reservedUsd: reserved, requiredUsd: amountUsd });
      }
      const inserted = await manager.query<{ id: string }[]>(
        `INSERT INTO llm_budget_reservations (user_id, amount_usd, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000)) RETURNING id`,
        [userId, amountUsd, ttlMs],
      );
      return inserted[0].id;
    });
  }

  /** Runs `write` (the usage record) and drops the reservation in one transaction. */
  async settle(reservationId: string | null, write: (manager: EntityManager) => Promise<void>): Promise<void> {
    if (reservationId === null) {
      await write(this.dataSource.manager);
      return;
    }
    await this.dataSource.transaction(async (manager) => {
      await write(manager);
      await manager.query('DELETE FROM llm_budget_reservations WHERE id = $1', [reservationId]);
    });
  }

  async release(reservationId: string | null): Promise<void> {
    if (reservationId === null) return;
    await this.dataSource.query('DELETE FROM llm_budget_reservations WHERE id = $1', [reservationId]);
  }

  /** Spend since `since` and live reservations, read in ONE statement (one snapshot). */
  private async committed(manager: EntityManager, userId: string, since: Date): Promise<{ spent: string; reserved: string }> {
    const rows = await manager.query<{ spent: string; reserved: string }[]>(
      `SELECT
         (SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE user_id = $1 AND created_at >= $2)::numeric(18,8) AS spent,
         (SELECT COALESCE(SUM(amount_usd), 0) FROM llm_budget_reservations WHERE user_id = $1 AND expires_at > now())::numeric(18,8) AS reserved`,
      [userId, since],
    );
    return { spent: addMoney(rows[0].spent), reserved: addMoney(rows[0].reserved) };
  }
}
