import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Queue } from 'bullmq';
import { withTimeout } from '#src/common/timeout.js';
import { QueueName } from '#src/queue/queue.constants.js';

/**
 * The agent-run queue answers and reports its backlog (a growing backlog is visible here) and the
 * workers online on it: 0 means queued runs wait for a worker (`npm run start:worker`). No workers
 * does not make the API unready: API-only processes serve requests without hosting any.
 */
@Injectable()
export class QueueHealthIndicator {
  constructor(
    @InjectQueue(QueueName.AgentRuns) private readonly agentRuns: Queue,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    try {
      const [counts, workers] = await withTimeout(
        Promise.all([
          this.agentRuns.getJobCounts('waiting', 'active', 'delayed', 'failed'),
          this.agentRuns.getWorkersCount(),
        ]),
        1_500,
        'queue did not answer',
      );
      return indicator.up({ agentRuns: counts, workers });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
