import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import { EventEnvelope, NAMED_ONLY_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '#src/common/events.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { DeliveryAttemptRef, WebhookDispatcher } from './webhook-dispatcher.service.js';

/** Key under QueryRunner.data where a transaction collects the deliveries to enqueue once it commits. */
const PENDING_KEY = 'webhookDeliveriesToEnqueue';

const WEBHOOK_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);
const NAMED_ONLY: ReadonlySet<string> = new Set(NAMED_ONLY_EVENT_TYPES);

/**
 * The transactional outbox of webhook deliveries. `record()` inserts one delivery row per matching
 * enabled subscription with the caller's EntityManager, so the rows commit or roll back with the
 * event they report. After the commit, a TypeORM transaction subscriber enqueues them (never
 * awaited by the caller, so a slow Redis cannot hold a run up). If the process dies in between, the
 * rows stay `pending` and the periodic sweeper (WebhookDispatcher.sweep) enqueues them.
 */
@Injectable()
export class WebhookOutboxService implements EntitySubscriberInterface {
  private readonly logger = new Logger(WebhookOutboxService.name);
  private readonly firstDelayMs: number;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly dispatcher: WebhookDispatcher,
    config: ConfigService<AllConfig, true>,
  ) {
    this.firstDelayMs = config.get('webhooks', { infer: true }).retryScheduleMs[0];
    dataSource.subscribers.push(this);
  }

  /**
   * Deliveries to the subscriptions of the event's owner: an organization's events go to the
   * organization's subscriptions, a user's own to the user's own (not to the organizations' they
   * created).
   */
  async record(
    manager: EntityManager,
    owner: { userId: string; orgId: string | null },
    event: EventEnvelope,
  ): Promise<void> {
    const params: unknown[] = [];
    const insert = this.deliveriesInsert(owner, event, params);
    if (!insert) return;
    const rows: Array<{ id: string }> = await manager.query(insert, params);
    this.enqueueAfterCommit(
      manager,
      rows.map((row) => row.id),
    );
  }

  /**
   * The INSERT … RETURNING id of `record()`, its parameters appended to `params` (so it can be one
   * part of a caller's larger statement); null when no webhook ever carries the event's type.
   * `extraCondition` (SQL) must hold too, e.g. that the event itself was stored. `dataSql`: the
   * event's data is this SQL expression (jsonb, e.g. read back from the stored event when the
   * statement computes part of it) instead of `event.data`.
   */
  deliveriesInsert(
    owner: { userId: string; orgId: string | null },
    event: EventEnvelope,
    params: unknown[],
    { extraCondition = 'true', dataSql }: { extraCondition?: string; dataSql?: string } = {},
  ): string | null {
    if (!WEBHOOK_TYPES.has(event.type)) return null;
    const at = params.length;
    params.push(
      owner.userId,
      event.id,
      event.type,
      this.firstDelayMs,
      !NAMED_ONLY.has(event.type),
      owner.orgId,
      dataSql ? event.createdAt : JSON.stringify(event),
    );
    const p = (n: number) => `$${at + n}`;
    // Built in SQL: the envelope's keys in the order JSON.stringify(event) writes them.
    const body = dataSql
      ? `json_build_object('id', ${p(2)}::text, 'type', ${p(3)}::text, 'createdAt', ${p(7)}::text, 'data', ${dataSql})::text`
      : p(7);
    return `INSERT INTO webhook_deliveries (subscription_id, user_id, event_id, event_type, body, next_attempt_at)
       SELECT s.id, s.user_id, ${p(2)}::uuid, ${p(3)}::varchar, ${body}, now() + make_interval(secs => ${p(4)}::double precision / 1000)
         FROM webhook_subscriptions s
        WHERE (CASE WHEN ${p(6)}::uuid IS NULL THEN s.user_id = ${p(1)} AND s.org_id IS NULL ELSE s.org_id = ${p(6)}::uuid END)
          AND s.enabled AND (s.events @> ARRAY[${p(3)}::text] OR (${p(5)}::boolean AND s.events @> ARRAY['*']::text[]))
          AND ${extraCondition}
       ON CONFLICT (subscription_id, event_id) DO NOTHING
       RETURNING id`;
  }

  /** Enqueues deliveries a caller stored itself, outside any transaction (see deliveriesInsert). */
  enqueueStored(deliveryIds: string[]): void {
    if (deliveryIds.length === 0) return;
    this.enqueueInBackground(deliveryIds.map((deliveryId) => ({ deliveryId, attempt: 1, delayMs: this.firstDelayMs })));
  }

  /** Records a delivery to one subscription regardless of its filter (the `webhook.test` event). */
  async recordFor(
    manager: EntityManager,
    subscriptionId: string,
    userId: string,
    event: EventEnvelope,
  ): Promise<string> {
    const [row]: Array<{ id: string }> = await manager.query(
      `INSERT INTO webhook_deliveries (subscription_id, user_id, event_id, event_type, body, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, now()) RETURNING id`,
      [subscriptionId, userId, event.id, event.type, JSON.stringify(event)],
    );
    this.enqueueAfterCommit(manager, [row.id]);
    return row.id;
  }

  /** Enqueues deliveries a caller stored with `manager` (see deliveriesInsert) once its transaction commits. */
  enqueueAfterCommit(manager: EntityManager, deliveryIds: string[]): void {
    if (deliveryIds.length === 0) return;
    const refs = deliveryIds.map((deliveryId) => ({ deliveryId, attempt: 1, delayMs: this.firstDelayMs }));
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) {
      const pending = (runner.data[PENDING_KEY] ??= []) as DeliveryAttemptRef[];
      pending.push(...refs);
    } else {
      this.enqueueInBackground(refs);
    }
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner;
    // A released savepoint also reports a commit; wait for the outermost one.
    if (runner.isTransactionActive) return;
    const pending = runner.data[PENDING_KEY] as DeliveryAttemptRef[] | undefined;
    if (!pending?.length) return;
    delete runner.data[PENDING_KEY];
    this.enqueueInBackground(pending);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) delete event.queryRunner.data[PENDING_KEY];
  }

  private enqueueInBackground(refs: DeliveryAttemptRef[]): void {
    this.dispatcher.enqueue(refs).catch((error: Error) => {
      // The rows are committed and pending: the sweeper enqueues them later.
      this.logger.warn(
        `enqueue of ${refs.length} webhook deliveries failed (${error.message}); the sweeper will retry`,
      );
    });
  }
}
