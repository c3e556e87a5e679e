import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { RedisModule } from '#src/redis/redis.module.js';
import { QueueErrorsService } from './queue-errors.service.js';
import { DEFAULT_JOB_OPTIONS, QueueName } from './queue.constants.js';

const queues = Object.values(QueueName).map((name) => BullModule.registerQueue({ name }));

/** The BullMQ connection, key prefix and every queue; processors live in their own modules' jobs/. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      imports: [RedisModule],
      inject: [RedisFactory],
      useFactory: (redis: RedisFactory) => ({
        connection: redis.bullConnection(),
        prefix: `${redis.prefix}:bull`,
        defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff } },
      }),
    }),
    ...queues,
  ],
  providers: [QueueErrorsService],
  exports: [...queues],
})
export class QueueModule {}
