import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { TrajectoriesService } from './trajectories.service.js';

const SWEEP_EVERY_MS = 3_600_000;
const FIRST_SWEEP_MS = 60_000;

/**
 * Removes trajectory entries past TRAJECTORY_RETENTION_DAYS, hourly, in each worker (the DELETE is
 * idempotent, so several workers sweeping at once only repeat an empty query).
 */
@Injectable()
export class TrajectoryRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TrajectoryRetentionService.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly trajectories: TrajectoriesService) {}

  onApplicationBootstrap(): void {
    const sweep = () => void this.sweep().catch(() => undefined);
    this.timer = setTimeout(() => {
      sweep();
      this.timer = setInterval(sweep, SWEEP_EVERY_MS);
      this.timer.unref();
    }, FIRST_SWEEP_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  async sweep(): Promise<void> {
    try {
      await this.trajectories.deleteExpired();
    } catch (error) {
      this.logger.warn({ err: error }, 'removing expired trajectory entries failed');
    }
  }
}
