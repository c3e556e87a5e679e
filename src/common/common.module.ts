import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import type { AllConfig } from '#src/config/namespaces.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { AppThrottler, AppThrottlerGuard } from './app-throttler.guard.js';
import { ProblemDetailsFilter } from './problem-details.filter.js';

/**
 * HTTP-wide behaviour: the problem-details filter and rate limiting on Redis (limits hold across
 * API processes). Imported last so that authentication guards run before the throttler and it can
 * key limits by user.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, REDIS_CLIENT, RedisFactory],
      useFactory: (config: ConfigService<AllConfig, true>, redis: Redis, factory: RedisFactory) => {
        const { rateLimit } = config.get('app', { infer: true });
        return {
          throttlers: [{ name: 'default', ttl: 60_000, limit: rateLimit.perMinute }],
          storage: new ThrottlerStorageRedisService(redis),
          skipIf: () => !rateLimit.enabled,
          // Per route, as Nest's default key is: a stricter @Throttle on login must not share its
          // bucket with every other request of the same IP.
          generateKey: (context, tracker, throttlerName) =>
            factory.key('throttle', throttlerName, context.getClass().name, context.getHandler().name, tracker),
        };
      },
    }),
  ],
  providers: [
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    AppThrottler,
    { provide: APP_GUARD, useClass: AppThrottlerGuard },
  ],
})
export class CommonModule {}
