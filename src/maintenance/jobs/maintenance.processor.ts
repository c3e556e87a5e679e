import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bullmq';
import type { AllConfig } from '#src/config/namespaces.js';
import { maintenanceMetrics } from '#src/metrics/prometheus.js';
import { QueueName } from '#src/queue/queue.constants.js';
import { MAINTENANCE_JOBS, MaintenanceJob, RetentionService } from '../retention.service.js';

/** The scheduler id of a maintenance job: one per job, whatever the number of workers. */
export const schedulerIdOf = (job: MaintenanceJob): string => `maintenance:${job}`;

export interface MaintenanceResult {
  removed: number;
  durationMs: number;
}

/**
 * Consumes `maintenance`. At start each worker upserts one BullMQ job scheduler per retention job
 * (upsert by a fixed id: N workers and every restart leave exactly one schedule each, at the
 * configured interval), removes the schedules of disabled jobs and of jobs this version no longer
 * has; BullMQ then hands each due run to exactly one worker.
 */
@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceProcessor.name);
  private lastErrorLogged = 0;

  constructor(
    private readonly retention: RetentionService,
    @InjectQueue(QueueName.Maintenance) private readonly queue: Queue,
    private readonly config: ConfigService<AllConfig, true>,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const { enabled, intervalMs } = this.config.get('maintenance', { infer: true });
    const wanted = new Set<string>();
    for (const job of MAINTENANCE_JOBS) {
      if (!enabled || !this.retention.enabled(job)) continue;
      wanted.add(schedulerIdOf(job));
      await this.queue.upsertJobScheduler(
        schedulerIdOf(job),
        { every: intervalMs },
        { name: job, data: {}, opts: { attempts: 2, removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
      );
    }
    for (const scheduler of await this.queue.getJobSchedulers(0, -1)) {
      const id = scheduler.id ?? scheduler.key;
      if (id.startsWith('maintenance:') && !wanted.has(id)) await this.queue.removeJobScheduler(id);
    }
    this.logger.log({ jobs: [...wanted], intervalMs }, 'maintenance schedules registered');
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLogged < 30_000) return;
    this.lastErrorLogged = now;
    this.logger.warn(`maintenance worker: ${error.message}`);
  }

  /** Names come from Redis, so they are checked rather than trusted to the type. */
  async process(job: Job<unknown, MaintenanceResult | undefined, string>): Promise<MaintenanceResult | undefined> {
    const name = MAINTENANCE_JOBS.find((known) => (known as string) === job.name);
    if (!name) {
      this.logger.warn(`job ${job.id}: unknown maintenance job ${job.name}, ignored`);
      return undefined;
    }
    const started = performance.now();
    const metrics = maintenanceMetrics();
    try {
      const removed = await this.retention.run(name);
      const durationMs = Math.round(performance.now() - started);
      metrics.removed.inc({ task: name }, removed);
      metrics.duration.observe({ task: name, outcome: 'ok' }, durationMs / 1000);
      this.logger.log({ job: name, jobId: job.id, removed, durationMs }, 'maintenance job done');
      return { removed, durationMs };
    } catch (error) {
      metrics.duration.observe({ task: name, outcome: 'error' }, (performance.now() - started) / 1000);
      this.logger.warn({ err: error, job: name, jobId: job.id }, 'maintenance job failed');
      throw error;
    }
  }
}
