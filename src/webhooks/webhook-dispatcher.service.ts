import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { JobsOptions, Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import { JobName, JobOf, QueueName } from '#src/queue/queue.constants.js';

export interface DeliveryAttemptRef {
  deliveryId: string;
  /** 1-based number of the attempt to make. */
  attempt: number;
  delayMs?: number;
}

/** Completed jobs stay a while so a repeated enqueue of the same attempt stays a no-op; failed ones go, so the sweeper can re-add them. */
const DELIVERY_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: true,
};

export const deliveryJobId = (deliveryId: string, attempt: number) => `${deliveryId}.${attempt}`;

/**
 * Puts delivery attempts on the `webhook-deliveries` queue. The job id is `<deliveryId>.<attempt>`,
 * so adding the same attempt twice (relay after commit + sweeper) makes one job; the processor also
 * skips an attempt the row says is already made.
 */
@Injectable()
export class WebhookDispatcher {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly sweepGraceMs: number;

  constructor(
    @InjectQueue(QueueName.WebhookDeliveries) private readonly queue: Queue,
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<AllConfig, true>,
  ) {
    this.sweepGraceMs = config.get('webhooks', { infer: true }).sweepGraceMs;
  }

  async enqueue(attempts: DeliveryAttemptRef[]): Promise<void> {
    if (attempts.length === 0) return;
    await this.queue.addBulk(
      attempts.map(({ deliveryId, attempt, delayMs }) => ({
        name: JobName.WebhookDelivery,
        data: { deliveryId, attempt } satisfies JobOf<JobName.WebhookDelivery>,
        opts: {
          ...DELIVERY_JOB_OPTIONS,
          jobId: deliveryJobId(deliveryId, attempt),
          delay: delayMs && delayMs > 0 ? delayMs : undefined,
        },
      })),
    );
  }

  /**
   * Enqueues every pending delivery whose next attempt has been due for longer than the grace
   * period: rows committed by a process that died before it enqueued them, or whose job was lost.
   * Returns how many attempts it (re-)enqueued; existing jobs are not duplicated.
   */
  async sweep(limit = 1_000): Promise<number> {
    const rows: Array<{ id: string; attempt_count: number }> = await this.dataSource.query(
      `SELECT id, attempt_count FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY next_attempt_at LIMIT $2`,
      [this.sweepGraceMs, limit],
    );
    if (rows.length === 0) return 0;
    await this.enqueue(rows.map((row) => ({ deliveryId: row.id, attempt: row.attempt_count + 1 })));
    this.logger.log(`sweep: re-enqueued ${rows.length} due webhook deliveries`);
    return rows.length;
  }
}
