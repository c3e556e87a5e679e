import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobType, Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { CircuitBreakerService, type BreakerState } from '#src/agents/llm/circuit-breaker.service.js';
import { PROVIDERS, type ProviderName } from '#src/agents/llm/llm.types.js';
import { withTimeout } from '#src/common/timeout.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { QueueName } from '#src/queue/queue.constants.js';

/** <repo>/package.json; this file runs from src/health (tests) or dist/src/health (built). */
const PACKAGE_CANDIDATES = ['../../package.json', '../../../package.json'];
const QUEUE_STATES: JobType[] = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
];
/** The event-loop histogram is restarted every minute, so the figures describe the recent past. */
const EVENT_LOOP_WINDOW_MS = 60_000;
const ANSWER_TIMEOUT_MS = 2_000;
const MAINTENANCE_RUNS = 10;

function readVersion(): string {
  for (const candidate of PACKAGE_CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export interface QueueStatus {
  name: string;
  counts: Record<string, number>;
  workers: number;
  paused: boolean;
  error?: string;
}

export interface MaintenanceRun {
  id: string | null;
  name: string;
  status: 'completed' | 'failed';
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  attemptsMade: number;
  failedReason?: string;
  /** Rows the job removed (retention jobs answer `{removed, durationMs}`). */
  removed?: number;
}

export interface SystemStatus {
  version: string;
  node: string;
  pid: number;
  uptimeSeconds: number;
  memory: { rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number };
  eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number; windowSeconds: number };
  queues: QueueStatus[];
  workers: { total: number; byQueue: Record<string, number> };
  providers: Array<{ name: ProviderName; enabled: boolean; breaker: BreakerState | 'unknown' }>;
  database: { poolSize: number; total: number; idle: number; inUse: number; waiting: number };
  maintenance: {
    schedulers: Array<{ id: string; name: string; pattern: string | null; every: number | null; next: string | null }>;
    lastRuns: MaintenanceRun[];
  };
}

/**
 * What an operator asks first (issue 15 item 4): is this process healthy, are the queues keeping
 * up, are workers alive, which providers' circuits are open, is the database pool exhausted.
 * Each part answers on its own: a slow Redis shows as an error on the queue, not a failed page.
 */
@Injectable()
export class SystemStatusService implements OnModuleInit, OnModuleDestroy {
  private readonly version = readVersion();
  private histogram: ReturnType<typeof monitorEventLoopDelay> | null = null;
  private windowStarted = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly dataSource: DataSource,
    private readonly breaker: CircuitBreakerService,
    private readonly config: ConfigService<AllConfig, true>,
  ) {}

  onModuleInit(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.histogram?.reset();
      this.windowStarted = Date.now();
    }, EVENT_LOOP_WINDOW_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.histogram?.disable();
    if (this.timer) clearInterval(this.timer);
  }

  async status(): Promise<SystemStatus> {
    const [queues, providers, maintenance] = await Promise.all([
      Promise.all(Object.values(QueueName).map((name) => this.queueStatus(name))),
      this.providers(),
      this.maintenance(),
    ]);
    const memory = process.memoryUsage();
    const histogram = this.histogram;
    const byQueue = Object.fromEntries(queues.map((q) => [q.name, q.workers]));
    return {
      version: this.version,
      node: process.version,
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime()),
      memory: {
        rssMiB: mib(memory.rss),
        heapUsedMiB: mib(memory.heapUsed),
        heapTotalMiB: mib(memory.heapTotal),
        externalMiB: mib(memory.external),
      },
      eventLoopDelayMs: {
        mean: histogram && histogram.count > 0 ? ms(histogram.mean) : 0,
        p50: histogram && histogram.count > 0 ? ms(histogram.percentile(50)) : 0,
        p99: histogram && histogram.count > 0 ? ms(histogram.percentile(99)) : 0,
        max: histogram && histogram.count > 0 ? ms(histogram.max) : 0,
        windowSeconds: Math.round((Date.now() - this.windowStarted) / 1000),
      },
      queues,
      workers: { total: queues.reduce((n, q) => n + q.workers, 0), byQueue },
      providers,
      database: this.database(),
      maintenance,
    };
  }

  private queue(name: QueueName): Queue {
    return this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
  }

  private async queueStatus(name: QueueName): Promise<QueueStatus> {
    const queue = this.queue(name);
    try {
      const [counts, workers, paused] = await withTimeout(
        Promise.all([queue.getJobCounts(...QUEUE_STATES), queue.getWorkersCount(), queue.isPaused()]),
        ANSWER_TIMEOUT_MS,
        'queue did not answer',
      );
      return { name, counts, workers, paused };
    } catch (error) {
      return { name, counts: {}, workers: 0, paused: false, error: (error as Error).message };
    }
  }

  private async providers(): Promise<SystemStatus['providers']> {
    const settings = this.config.get('llm', { infer: true }).providers;
    return Promise.all(
      PROVIDERS.map(async (name) => {
        const enabled = settings[name].enabled;
        let breaker: BreakerState | 'unknown' = 'unknown';
        try {
          breaker = await withTimeout(this.breaker.state(name), ANSWER_TIMEOUT_MS, 'breaker did not answer');
        } catch {
          // Redis unreachable: the queues above say so; the circuit's state is simply not known.
        }
        return { name, enabled, breaker };
      }),
    );
  }

  private database(): SystemStatus['database'] {
    const pool = (this.dataSource.driver as PostgresDriver).master as
      { totalCount: number; idleCount: number; waitingCount: number } | undefined;
    const total = pool?.totalCount ?? 0;
    const idle = pool?.idleCount ?? 0;
    return {
      poolSize: this.config.get('database', { infer: true }).poolSize,
      total,
      idle,
      inUse: total - idle,
      waiting: pool?.waitingCount ?? 0,
    };
  }

  /** What the maintenance queue holds: its schedules and its latest finished jobs. */
  private async maintenance(): Promise<SystemStatus['maintenance']> {
    const queue = this.queue(QueueName.Maintenance);
    try {
      const [schedulers, finished] = await withTimeout(
        Promise.all([queue.getJobSchedulers(0, 49), queue.getJobs(['completed', 'failed'], 0, MAINTENANCE_RUNS - 1)]),
        ANSWER_TIMEOUT_MS,
        'maintenance queue did not answer',
      );
      const lastRuns = await Promise.all(finished.filter(Boolean).map((job) => this.maintenanceRun(job)));
      lastRuns.sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''));
      return {
        schedulers: schedulers.map((s) => ({
          id: s.id ?? s.key,
          name: s.name,
          pattern: s.pattern ?? null,
          every: s.every ? Number(s.every) : null,
          next: s.next ? new Date(s.next).toISOString() : null,
        })),
        lastRuns: lastRuns.slice(0, MAINTENANCE_RUNS),
      };
    } catch {
      return { schedulers: [], lastRuns: [] };
    }
  }

  private async maintenanceRun(job: Job): Promise<MaintenanceRun> {
    const failed = await job.isFailed();
    return {
      id: job.id ?? null,
      name: job.name,
      status: failed ? 'failed' : 'completed',
      startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      durationMs: job.processedOn && job.finishedOn ? job.finishedOn - job.processedOn : null,
      attemptsMade: job.attemptsMade,
      ...(failed ? { failedReason: job.failedReason } : {}),
      ...(typeof (job.returnvalue as { removed?: unknown } | null)?.removed === 'number'
        ? { removed: (job.returnvalue as { removed: number }).removed }
        : {}),
    };
  }
}
