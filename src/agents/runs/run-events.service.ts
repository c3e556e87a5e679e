import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { DataSource, EntityManager, MoreThan } from 'typeorm';
import type { EventEnvelope, EventType } from '#src/common/events.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { WebhookOutboxService } from '#src/webhooks/webhook-outbox.service.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { RunEvent } from './entities/run-event.entity.js';
import { Run } from './entities/run.entity.js';

/** An event as it travels on Redis and SSE: the envelope plus its per-run `seq` (absent for `agent.delta`). */
export interface RunEventMessage {
  seq: number | null;
  event: EventEnvelope;
}

export type RunRef = Pick<Run, 'id' | 'userId' | 'taskId' | 'orgId'>;

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
    await this.publish(published);
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
    // One round trip: the UPDATE takes the run row's lock (concurrent appenders of a run queue up,
    // so seq has no gaps) and the INSERT stores the event under the new seq.
    const inserted: Array<{ seq: number; created_at: Date }> = await manager.query(
      `WITH next AS (UPDATE runs SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq)
       INSERT INTO run_events (id, run_id, user_id, seq, type, data)
       SELECT $1, $2, $3, next.last_seq, $4, $5 FROM next
       RETURNING seq, created_at`,
      [id, run.id, run.userId, type, envelopeData],
    );
    if (inserted.length === 0) throw new Error(`run ${run.id} does not exist`);
    const seq = inserted[0].seq;
    const event: EventEnvelope = { id, type, createdAt: inserted[0].created_at.toISOString(), data: envelopeData };
    await this.recordForWebhooks(manager, run, event);
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
   */
  async appendUnlessEnded(
    run: RunRef,
    type: EventType,
    data: Record<string, unknown> = {},
  ): Promise<RunEventMessage | null> {
    const id = randomUUID();
    const envelopeData = { taskId: run.taskId, runId: run.id, ...data };
    const createdAt = new Date();
    const event: EventEnvelope = { id, type, createdAt: createdAt.toISOString(), data: envelopeData };
    const params: unknown[] = [id, run.id, run.userId, type, envelopeData, createdAt];
    const deliveries = this.webhooks.deliveriesInsert(run, event, params, 'EXISTS (SELECT 1 FROM event)');
    const rows: Array<{ seq: number | null; deliveries: string[] | null }> = await this.dataSource.query(
      `WITH next AS (
         UPDATE runs SET last_seq = last_seq + 1
          WHERE id = $2 AND status NOT IN ('completed', 'failed', 'cancelled')
          RETURNING last_seq
       ), event AS (
         INSERT INTO run_events (id, run_id, user_id, seq, type, data, created_at)
         SELECT $1, $2, $3, next.last_seq, $4, $5, $6 FROM next
         RETURNING seq
       )${deliveries ? `, deliveries AS (${deliveries})` : ''}
       SELECT (SELECT seq FROM event) AS seq, ${deliveries ? '(SELECT array_agg(id) FROM deliveries)' : 'NULL'} AS deliveries`,
      params,
    );
    const seq = rows[0]?.seq ?? null;
    if (seq === null) return null;
    this.webhooks.enqueueStored(rows[0].deliveries ?? []);
    const message = { seq, event };
    await this.publish([message]);
    return message;
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
  async publishDelta(run: RunRef, data: Record<string, unknown>): Promise<void> {
    const event: EventEnvelope = {
      id: randomUUID(),
      type: 'agent.delta',
      createdAt: new Date().toISOString(),
      data: { taskId: run.taskId, runId: run.id, ...data },
    };
    await this.publish([{ seq: null, event }]);
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

  private async publish(messages: RunEventMessage[]): Promise<void> {
    for (const message of messages) {
      const runId = String(message.event.data.runId);
      try {
        await this.redis.publish(this.channel(runId), JSON.stringify(message));
      } catch (error) {
        // The event is stored; readers catch up from the database on their next (re)connect.
        this.logger.warn({ err: error, runId }, 'publishing a run event failed');
      }
    }
  }

  /** Webhook deliveries commit with the event (outbox); `agent.delta` never reaches this path. */
  private async recordForWebhooks(manager: EntityManager, owner: EventOwner, event: EventEnvelope): Promise<void> {
    await this.webhooks.record(manager, { userId: owner.userId, orgId: owner.orgId }, event);
  }
}
