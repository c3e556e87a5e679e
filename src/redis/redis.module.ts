import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { InvalidationBus } from './invalidation-bus.js';
import { REDIS_CLIENT } from './redis.constants.js';
import { RedisFactory } from './redis.factory.js';

@Global()
@Module({
  providers: [
    RedisFactory,
    InvalidationBus,
    {
      provide: REDIS_CLIENT,
      inject: [RedisFactory],
      useFactory: (factory: RedisFactory) => factory.create('commands'),
    },
  ],
  exports: [REDIS_CLIENT, RedisFactory, InvalidationBus],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
