import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { CircuitBreakerService } from '#src/agents/llm/circuit-breaker.service.js';
import { PROVIDERS } from '#src/agents/llm/llm.types.js';
import { withTimeout } from '#src/common/timeout.js';
import { QueueName } from '#src/queue/queue.constants.js';
import { collectProcessMetrics, llmMetrics, metricsRegistry, platformMetrics } from './prometheus.js';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/** Renders the Prometheus exposition; shared state (queues, circuits) is read fresh at scrape time. */
@Injectable()
export class PrometheusService {
  private readonly logger = new Logger(PrometheusService.name);
  private readonly queues: Queue[];

  constructor(
    private readonly breaker: CircuitBreakerService,
    @InjectQueue(QueueName.AgentRuns) agentRuns: Queue,
    @InjectQueue(QueueName.WebhookDeliveries) webhookDeliveries: Queue,
    @InjectQueue(QueueName.Maintenance) maintenance: Queue,
  ) {
    collectProcessMetrics();
    platformMetrics();
    llmMetrics();
    this.queues = [agentRuns, webhookDeliveries, maintenance];
  }

  readonly contentType = metricsRegistry.contentType;

  async render(): Promise<string> {
    await Promise.all([this.refreshQueues(), this.refreshBreakers()]).catch((error: unknown) =>
      this.logger.warn(`metrics refresh failed: ${(error as Error).message}`),
    );
    return metricsRegistry.metrics();
  }

  private async refreshQueues(): Promise<void> {
    const gauge = platformMetrics().queueJobs;
    await Promise.all(
      this.queues.map(async (queue) => {
        const counts = await withTimeout(
          queue.getJobCounts(...QUEUE_STATES),
          1_500,
          `queue ${queue.name} did not answer`,
        );
        for (const state of QUEUE_STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0);
      }),
    );
  }

  private async refreshBreakers(): Promise<void> {
    const gauge = llmMetrics().breakerState;
    await Promise.all(
      PROVIDERS.map(async (provider) => gauge.set({ provider }, BREAKER_VALUE[await this.breaker.state(provider)])),
    );
  }
}
