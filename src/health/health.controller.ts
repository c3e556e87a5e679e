import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { NotReadyError } from './health.errors.js';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '#src/common/decorators/public.decorator.js';
import { QueueHealthIndicator } from './queue.health.js';
import { RedisHealthIndicator } from './redis.health.js';

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly queue: QueueHealthIndicator,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs.' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: database, redis and queue (its backlog and workers online); 503 naming the failing check.',
  })
  async ready() {
    try {
      const result = await this.health.check([
        () => this.database.pingCheck('database', { timeout: 2_000 }),
        () => this.redis.check('redis'),
        () => this.queue.check('queue'),
      ]);
      return { status: result.status, checks: result.details };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const body = error.getResponse() as { details?: Record<string, { status: string }> };
      const checks = body.details ?? {};
      const failing = Object.entries(checks)
        .filter(([, check]) => check.status !== 'up')
        .map(([name]) => name);
      throw new NotReadyError(failing, checks);
    }
  }
}
