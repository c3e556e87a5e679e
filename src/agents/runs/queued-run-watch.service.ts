import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import { QueueName } from '#src/queue/queue.constants.js';
import { RunEventsService } from './run-events.service.js';

interface WaitingRun {
  id: string;
  user_id: string;
  task_id: string;
  org_id: string | null;
  queued_seconds: number;
}

/**
 * A run sits `queued` silently when no worker consumes the queue (an API started with
 * WORKER_IN_PROCESS=false and no `npm run start:worker`). Each API process looks now and then for
 * runs queued longer than AGENT_NO_WORKER_WARN_SECONDS; when the agent-run queue has no worker
 * online, each such run gets one `run.waiting_for_worker` event (SSE and webhooks) saying so.
 */
@Injectable()
export class QueuedRunWatch implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(QueuedRunWatch.name);
  private readonly thresholdMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(QueueName.AgentRuns) private readonly queue: Queue,
    private readonly events: RunEventsService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.thresholdMs = config.get('agents', { infer: true }).noWorkerWarnMs;
  }

  onApplicationBootstrap(): void {
    if (this.thresholdMs === 0) return;
    // Often enough that the event comes soon after the threshold, rarely enough to cost nothing.
    const every = Math.min(30_000, Math.max(250, Math.round(this.thresholdMs / 2)));
    this.timer = setInterval(
      () =>
        void this.check().catch((error: unknown) =>
          this.logger.warn({ err: error }, 'could not look for runs waiting for a worker'),
        ),
      every,
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Appends `run.waiting_for_worker` to each run queued too long with no worker online; returns how many. */
  async check(): Promise<number> {
    // Runs queued past the threshold that have not been told since they were (re)queued.
    const waiting: WaitingRun[] = await this.dataSource.query(
      `SELECT r.id, r.user_id, r.task_id, r.org_id, floor(extract(epoch FROM now() - r.updated_at))::int AS queued_seconds
         FROM runs r
        WHERE r.status = 'queued'
          AND r.updated_at < now() - make_interval(secs => $1::double precision / 1000)
          AND NOT EXISTS (SELECT 1 FROM run_events e
                           WHERE e.run_id = r.id AND e.type = 'run.waiting_for_worker' AND e.created_at >= r.updated_at)
        ORDER BY r.updated_at
        LIMIT 100`,
      [this.thresholdMs],
    );
    if (waiting.length === 0) return 0;
    const workers = await this.queue.getWorkersCount();
    if (workers > 0) return 0;
    let told = 0;
    for (const run of waiting) {
      const appended = await this.events.transaction(async (manager) => {
        // Several API processes may look at once: the row lock and the second look tell it once.
        const still: unknown[] = await manager.query(
          `SELECT 1 FROM runs r WHERE r.id = $1 AND r.status = 'queued'
              AND NOT EXISTS (SELECT 1 FROM run_events e
                               WHERE e.run_id = r.id AND e.type = 'run.waiting_for_worker' AND e.created_at >= r.updated_at)
           FOR UPDATE`,
          [run.id],
        );
        if (still.length === 0) return false;
        await this.events.append(
          manager,
          { id: run.id, userId: run.user_id, taskId: run.task_id, orgId: run.org_id },
          'run.waiting_for_worker',
          {
            queuedSeconds: run.queued_seconds,
            workersOnline: 0,
            message:
              'No worker is consuming the run queue: the run starts when one does (`npm run start:worker`, or an API with WORKER_IN_PROCESS=true).',
          },
        );
        return true;
      });
      if (appended) told++;
    }
    if (told > 0)
      this.logger.warn(
        { runs: told },
        `${told} run(s) queued for over ${Math.round(this.thresholdMs / 1000)} s and no worker is online: start one with \`npm run start:worker\``,
      );
    return told;
  }
}
