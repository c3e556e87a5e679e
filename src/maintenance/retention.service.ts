import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TrajectoriesService } from '#src/agents/trajectories/trajectories.service.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { JobName } from '#src/queue/queue.constants.js';

/** The maintenance jobs, each one retention rule. */
export type MaintenanceJob =
  | JobName.IdempotencyKeysRetention
  | JobName.EmailTokensRetention
  | JobName.SessionsRetention
  | JobName.WebhookDeliveriesRetention
  | JobName.TrajectoriesRetention
  | JobName.BudgetReservationsRetention
  | JobName.SpendTotalsRetention;

export const MAINTENANCE_JOBS: readonly MaintenanceJob[] = [
  JobName.IdempotencyKeysRetention,
  JobName.EmailTokensRetention,
  JobName.SessionsRetention,
  JobName.WebhookDeliveriesRetention,
  JobName.TrajectoriesRetention,
  JobName.BudgetReservationsRetention,
  JobName.SpendTotalsRetention,
];

/** Rows deleted per statement: a long retention backlog goes in short transactions, not one long lock. */
const BATCH = 5_000;
const DAY_MS = 86_400_000;
/** A reservation outlives its call only when the process died mid-call; an hour past expiry it is debris. */
const RESERVATION_GRACE_MS = 3_600_000;

/**
 * What each maintenance job removes. The rows belong to other modules (auth, tasks, webhooks,
 * metrics), whose services live in HTTP modules a worker does not load; each rule here is one
 * DELETE on an indexed column, written next to the others so their bounds read together.
 */
@Injectable()
export class RetentionService {
  private readonly days: AllConfig['maintenance']['retentionDays'];

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly trajectories: TrajectoriesService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.days = config.get('maintenance', { infer: true }).retentionDays;
  }

  /** Whether a job has anything to do under the configuration (a retention of 0 days keeps all). */
  enabled(job: MaintenanceJob): boolean {
    switch (job) {
      case JobName.EmailTokensRetention:
        return this.days.emailTokens > 0;
      case JobName.SessionsRetention:
        return this.days.sessions > 0;
      case JobName.WebhookDeliveriesRetention:
        return this.days.webhookDeliveries > 0;
      default:
        return true;
    }
  }

  /** Runs one job; answers how many rows it removed. */
  async run(job: MaintenanceJob, now = new Date()): Promise<number> {
    const before = (days: number) => new Date(now.getTime() - days * DAY_MS);
    switch (job) {
      // Keys carry their own lifetime (IDEMPOTENCY_TTL_HOURS); a reused expired key is also forgotten on the spot.
      case JobName.IdempotencyKeysRetention:
        return this.deleteInBatches('idempotency_keys', 'expires_at < $1', [now]);
      // Verification and reset tokens, RETENTION_EMAIL_TOKENS_DAYS after they expired.
      case JobName.EmailTokensRetention:
        return this.deleteInBatches('email_tokens', 'expires_at < $1', [before(this.days.emailTokens)]);
      // Sessions (and their refresh tokens, by cascade) RETENTION_SESSIONS_DAYS after they expired or were revoked.
      case JobName.SessionsRetention:
        return this.deleteInBatches('user_sessions', 'expires_at < $1 OR revoked_at < $1', [
          before(this.days.sessions),
        ]);
      // Finished deliveries (and their attempts, by cascade); pending ones are never touched.
      case JobName.WebhookDeliveriesRetention:
        return this.deleteInBatches('webhook_deliveries', `status <> 'pending' AND completed_at < $1`, [
          before(this.days.webhookDeliveries),
        ]);
      // TRAJECTORY_RETENTION_DAYS, applied by the trajectories module itself.
      case JobName.TrajectoriesRetention:
        return this.trajectories.deleteExpired(now);
      case JobName.BudgetReservationsRetention:
        return this.deleteInBatches('llm_budget_reservations', 'expires_at < $1', [
          new Date(now.getTime() - RESERVATION_GRACE_MS),
        ]);
      // Running totals of settled spend (\`llm_spend\`, one row per budget scope and month) are read
      // only for the current month, so a month's rows go once the next month is over too (a call
      // settling at the turn of a month still finds its row). A task's lifetime total, and the
      // current rows of an account, organization or key, go with their owner.
      case JobName.SpendTotalsRetention:
        return this.deleteInBatches(
          'llm_spend',
          `(period_start <> 'epoch' AND period_start < date_trunc('month', $1::timestamptz, 'UTC') - interval '1 month')
           OR (scope = 'task' AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id::text = llm_spend.scope_id))
           OR (scope = 'user' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id::text = llm_spend.scope_id))
           OR (scope = 'apiKey' AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id::text = llm_spend.scope_id))
           OR (scope IN ('org', 'member') AND NOT EXISTS
                (SELECT 1 FROM organizations o WHERE o.id::text = split_part(llm_spend.scope_id, ':', 1)))
           OR (scope = 'member' AND NOT EXISTS
                (SELECT 1 FROM users u WHERE u.id::text = split_part(llm_spend.scope_id, ':', 2)))`,
          [now],
        );
    }
  }

  private async deleteInBatches(table: string, where: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const [, deleted] = await this.dataSource.query<[unknown[], number]>(
        `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${where} LIMIT ${BATCH})`,
        params,
      );
      total += deleted;
      if (deleted < BATCH) return total;
    }
  }
}
