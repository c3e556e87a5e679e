import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { HealthController } from './health.controller.js';
import { QueueHealthIndicator } from './queue.health.js';
import { RedisHealthIndicator } from './redis.health.js';
import { StatusController } from './status.controller.js';
import { SystemStatusService } from './system-status.service.js';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 }), LlmModule],
  controllers: [HealthController, StatusController],
  providers: [RedisHealthIndicator, QueueHealthIndicator, SystemStatusService],
})
export class HealthModule {}
