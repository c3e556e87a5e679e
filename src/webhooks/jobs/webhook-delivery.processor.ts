import { inSpan } from '#src/telemetry/spans.js';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bullmq';
import type { AllConfig } from '#src/config/namespaces.js';
import { JobName, JobOf, QueueName } from '#src/queue/queue.constants.js';
import { WebhookDeliveryService } from '../webhook-delivery.service.js';
import { WebhookDispatcher } from '../webhook-dispatcher.service.js';

export const SWEEP_SCHEDULER_ID = 'webhook-outbox-sweep';

/**
 * Consumes `webhook-deliveries`: one job per delivery attempt, plus the periodic outbox sweep
 * (a BullMQ job scheduler, so one sweep runs per interval however many workers there are).
 */
@Processor(QueueName.WebhookDeliveries)
export class WebhookDeliveryProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(WebhookDeliveryProcessor.name);
  private lastErrorLogged = 0;

  constructor(
    private readonly deliveries: WebhookDeliveryService,
    private readonly dispatcher: WebhookDispatcher,
    @InjectQueue(QueueName.WebhookDeliveries) private readonly queue: Queue,
    private readonly config: ConfigService<AllConfig, true>,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const { concurrency, sweepIntervalMs } = this.config.get('webhooks', { infer: true });
    // Deliveries mostly wait on the network, so one process runs many at once.
    this.worker.concurrency = concurrency;
    await this.queue.upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      { every: sweepIntervalMs },
      { name: JobName.WebhookSweep, data: {}, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } } },
    );
  }

  /** Without a listener BullMQ prints worker errors (a Redis reset at shutdown) to the console. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLogged < 30_000) return;
    this.lastErrorLogged = now;
    this.logger.warn(`webhook worker: ${error.message}`);
  }

  /** Names come from Redis, so they are checked rather than trusted to the type. */
  async process(job: Job<unknown, void, string>): Promise<void> {
    const started = performance.now();
    if (job.name === (JobName.WebhookSweep as string)) {
      await this.dispatcher.sweep();
      return;
    }
    if (job.name !== (JobName.WebhookDelivery as string)) {
      this.logger.warn(`job ${job.id}: unknown job name ${job.name}, ignored`);
      return;
    }
    const { deliveryId, attempt } = job.data as JobOf<JobName.WebhookDelivery>;
    await inSpan(
      'webhook delivery',
      { 'quorum.webhook.delivery_id': deliveryId, 'quorum.webhook.attempt': attempt },
      () => this.deliveries.attempt(deliveryId, attempt),
    );
    this.logger.debug(
      `job ${job.id} (delivery ${deliveryId} attempt ${attempt}) done in ${Math.round(performance.now() - started)} ms`,
    );
  }
}
