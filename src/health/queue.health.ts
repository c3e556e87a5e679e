import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Queue } from 'bullmq';
import { withTimeout } from '#src/common/timeout.js';
import { QueueName } from '#src/queue/queue.constants.js';

/** The agent-run queue answers and reports its backlog (a growing backlog is visible here). */
@Injectable()
export class QueueHealthIndicator {
  constructor(
    @InjectQueue(QueueName.AgentRuns) private readonly agentRuns: Queue,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    try {
      const counts = await withTimeout(
        this.agentRuns.getJobCounts('waiting', 'active', 'delayed', 'failed'),
        1_500,
        'queue did not answer',
      );
      return indicator.up({ agentRuns: counts });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
