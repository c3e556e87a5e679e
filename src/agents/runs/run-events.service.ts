import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { DataSource, EntityManager, MoreThan } from 'typeorm';
import type { EventEnvelope, EventType } from '#src/common/events.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { WebhookOutboxService } from '#src/webhooks/webhook-outbox.service.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { normaliseUsd } from '#src/metrics/money.js';
import { RunEvent } from './entities/run-event.entity.js';
import { Run } from './entities/run.entity.js';

/** An event as it travels on Redis and SSE: the envelope plus its per-run `seq` (absent for `agent.delta`). */
export interface RunEventMessage {
  seq: number | null;
  event: EventEnvelope;
}

export type RunRef = Pick<Run, 'id' | 'userId' | 'taskId' | 'orgId'>;

/** The run's usage totals (exact strings for money) after a change that added to them. */
export interface RunTotals {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: string;
}

interface TotalsRow {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  cost_usd: string;
}

/**
 * What an event's statement changes besides the event (see appendUnlessEnded), in SQL whose
 * parameters the caller pushed: `set`, assignments on the run row (locked, not ended); `with`,
 * CTEs (`name AS (…)`) that run with the event and may read `next`, the updated run row; `usage`,
 * the run's usage totals after `set` go into the event's data as `usage`.
 */
export interface RunEventChange {
  set?: string[];
  with?: string[];
  usage?: boolean;
}

/** Whose webhooks hear an event: the organization's when it has one, else the user's own. */
export interface EventOwner {
  userId: string;
  orgId: string | null;
}

/**
 * Run events: appended in the same transaction as the state change they report (per-run `seq` taken
 * under the run row's lock), recorded for webhooks in that transaction too, and published on Redis
 * only after the commit, so no reader ever sees an event whose state was rolled back.
 */
@Injectable()
export class RunEventsService {
  private readonly logger = new Logger(RunEventsService.name);
  private readonly pending = new WeakMap<EntityManager, RunEventMessage[]>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly redisFactory: RedisFactory,
    private readonly webhooks: WebhookOutboxService,
  ) {}

  channel(runId: string): string {
    return this.redisFactory.key('run-events', runId);
  }

  /** Runs `work` in a transaction; events appended through its manager are published after commit. */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const published: RunEventMessage[] = [];
    const result = await this.dataSource.transaction(async (manager) => {
      this.pending.set(manager, published);
      return work(manager);
    });
    this.publish(published);
    return result;
  }

  async append(
    manager: EntityManager,
    run: RunRef,
    type: EventType,
    data: Record<string, unknown> = {},
  ): Promise<RunEventMessage> {
    const queue = this.pending.get(manager);
    if (!queue) throw new Error('RunEventsService.append needs a manager from RunEventsService.transaction()');
    const id = randomUUID();
    const envelopeData = { taskId: run.taskId, runId: run.id, ...data };
    const createdAt = new Date();
    const event: EventEnvelope = { id, type, createdAt: createdAt.toISOString(), data: envelopeData };
    const params: unknown[] = [id, run.id, run.userId, type, envelopeData, createdAt];
    const deliveries = this.webhooks.deliveriesInsert(run, event, params, {
      extraCondition: 'EXISTS (SELECT 1 FROM event)',
    });
    // One round trip: the UPDATE takes the run row's lock (concurrent appenders of a run queue up,
    // so seq has no gaps), the INSERT stores the event under the new seq, and its webhook
    // deliveries (outbox) are stored with it, enqueued once the transaction commits.
    const rows: Array<{ seq: number | null; deliveries: string[] | null }> = await manager.query(
      `WITH next AS (UPDATE runs SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq),
       event AS (
         INSERT INTO run_events (id, run_id, user_id, seq, type, data, created_at)
         SELECT $1, $2, $3, next.last_seq, $4, $5, $6 FROM next
         RETURNING seq
       )${deliveries ? `, deliveries AS (${deliveries})` : ''}
       SELECT (SELECT seq FROM event) AS seq, ${deliveries ? '(SELECT array_agg(id) FROM deliveries)' : 'NULL'} AS deliveries`,
      params,
    );
    const seq = rows[0]?.seq ?? null;
    if (seq === null) throw new Error(`run ${run.id} does not exist`);
    this.webhooks.enqueueAfterCommit(manager, rows[0].deliveries ?? []);
    const message = { seq, event };
    queue.push(message);
    return message;
  }

  /**
   * Appends one event on its own, unless the run has ended, in ONE statement instead of a
   * transaction of four (lock, event, webhook deliveries, commit): the UPDATE of the run row takes
   * its lock and re-checks the status once it has it (so an event never lands after a terminal one
   * committing at the same moment, as under `hasEnded`'s lock), the event and its webhook deliveries
   * are stored from that row, all or nothing. Published on Redis after it. Null: the run has ended.
   * A tool loop appends one event per tool call, so this is on every round's path.
   *
   * `change` adds the state change the event reports to the same statement (a step row, the run's
   * usage), so a step's start or end is one round trip too; it pushes its parameters onto `params`.
   */
  async appendUnlessEnded(
    run: RunRef,
    type: EventType,
    data: Record<string, unknown> = {},
    change?: (params: unknown[]) => RunEventChange,
  ): Promise<(RunEventMessage & { totals: RunTotals | null }) | null> {
    const id = randomUUID();
    const envelopeData: Record<string, unknown> = { taskId: run.taskId, runId: run.id, ...data };
    const createdAt = new Date();
    const event: EventEnvelope = { id, type, createdAt: createdAt.toISOString(), data: envelopeData };
    const params: unknown[] = [id, run.id, run.userId, type, envelopeData, createdAt];
    const extra = change?.(params) ?? {};
    // The run's totals after this change, as `usageOf` prints them, go into the stored event.
    const storedData = extra.usage
      ? `$5::jsonb || jsonb_build_object('usage', jsonb_build_object('inputTokens', next.input_tokens,
           'cachedInputTokens', next.cached_input_tokens, 'outputTokens', next.output_tokens,
           'costUsd', trim_scale(next.cost_usd)::text))`
      : '$5';
    const deliveries = this.webhooks.deliveriesInsert(run, event, params, {
      extraCondition: 'EXISTS (SELECT 1 FROM event)',
      ...(extra.usage ? { dataSql: '(SELECT data FROM event)' } : {}),
    });
    const rows: Array<{ seq: number | null; deliveries: string[] | null } & Partial<TotalsRow>> =
      await this.dataSource.query(
        `WITH next AS (
           UPDATE runs SET last_seq = last_seq + 1${(extra.set ?? []).map((assignment) => `, ${assignment}`).join('')}
            WHERE id = $2 AND status NOT IN ('completed', 'failed', 'cancelled')
            RETURNING last_seq${extra.usage ? ', input_tokens, cached_input_tokens, output_tokens, cost_usd' : ''}
         ), event AS (
           INSERT INTO run_events (id, run_id, user_id, seq, type, data, created_at)
           SELECT $1, $2, $3, next.last_seq, $4, ${storedData}, $6 FROM next
           RETURNING seq${extra.usage ? ', data' : ''}
         )${(extra.with ?? []).map((cte) => `, ${cte}`).join('')}${deliveries ? `, deliveries AS (${deliveries})` : ''}
         SELECT (SELECT seq FROM event) AS seq, ${deliveries ? '(SELECT array_agg(id) FROM deliveries)' : 'NULL'} AS deliveries${
           extra.usage
             ? ', next.input_tokens, next.cached_input_tokens, next.output_tokens, next.cost_usd FROM (SELECT 1) one LEFT JOIN next ON true'
             : ''
         }`,
        params,
      );
    const seq = rows[0]?.seq ?? null;
    if (seq === null) return null;
    this.webhooks.enqueueStored(rows[0].deliveries ?? []);
    let totals: RunTotals | null = null;
    if (extra.usage) {
      const row = rows[0] as TotalsRow;
      totals = {
        inputTokens: row.input_tokens,
        cachedInputTokens: row.cached_input_tokens,
        outputTokens: row.output_tokens,
        costUsd: row.cost_usd,
      };
      envelopeData.usage = {
        inputTokens: totals.inputTokens,
        cachedInputTokens: totals.cachedInputTokens,
        outputTokens: totals.outputTokens,
        costUsd: normaliseUsd(totals.costUsd),
      };
    }
    const message = { seq, event };
    this.publish([message]);
    return { ...message, totals };
  }

  /** A task-level event (`task.created`): not part of any run's stream, so it goes to webhooks only. */
  async recordTaskEvent(
    manager: EntityManager,
    owner: EventOwner,
    type: EventType,
    data: Record<string, unknown>,
  ): Promise<EventEnvelope> {
    const event: EventEnvelope = { id: randomUUID(), type, createdAt: new Date().toISOString(), data };
    await this.recordForWebhooks(manager, owner, event);
    return event;
  }

  /**
   * `agent.delta` (streamed model text) is published, never stored: it is high-volume, superseded by
   * the `agent.completed` that follows, and webhooks never carry it. It has no seq, so an SSE reader's
   * Last-Event-ID stays on the last stored event and a reconnect loses only transient text.
   */
  publishDelta(run: RunRef, data: Record<string, unknown>): void {
    const event: EventEnvelope = {
      id: randomUUID(),
      type: 'agent.delta',
      createdAt: new Date().toISOString(),
      data: { taskId: run.taskId, runId: run.id, ...data },
    };
    this.publish([{ seq: null, event }]);
  }

  async listAfter(runId: string, after: number, limit = 1000): Promise<RunEventMessage[]> {
    const rows = await this.dataSource.getRepository(RunEvent).find({
      where: { runId, seq: MoreThan(after) },
      order: { seq: 'ASC' },
      take: limit,
    });
    return rows.map((row) => ({
      seq: row.seq,
      event: { id: row.id, type: row.type as EventType, createdAt: row.createdAt.toISOString(), data: row.data },
    }));
  }

  /**
   * Sends the messages without waiting for Redis: the commands of one connection go out in the order
   * they were given, so readers still see a run's events in order, and no writer waits a Redis
   * round trip per event.
   */
  private publish(messages: RunEventMessage[]): void {
    for (const message of messages) {
      const runId = String(message.event.data.runId);
      this.redis.publish(this.channel(runId), JSON.stringify(message)).catch((error: unknown) => {
        // The event is stored; readers catch up from the database on their next (re)connect.
        this.logger.warn({ err: error, runId }, 'publishing a run event failed');
      });
    }
  }

  /** Webhook deliveries commit with the event (outbox); `agent.delta` never reaches this path. */
  private async recordForWebhooks(manager: EntityManager, owner: EventOwner, event: EventEnvelope): Promise<void> {
    await this.webhooks.record(manager, { userId: owner.userId, orgId: owner.orgId }, event);
  }
}
