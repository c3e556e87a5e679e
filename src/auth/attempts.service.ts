import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimitedError } from '#src/common/errors.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { sha256 } from './tokens.service.js';

export interface AttemptCounter {
  /** e.g. `login:account:<email>`, `login:ip:<ip>`, `mfa:<userId>` */
  key: string;
  limit: number;
}

/**
 * Counts failed sign-in attempts (passwords and 2FA codes) per account and per IP in Redis. Once a
 * counter reaches its limit every attempt gets the same 429 answer, right or wrong, until the
 * window ends: a locked account cannot be used to test passwords, and the answer does not tell
 * whether the account exists.
 */
@Injectable()
export class AttemptsService {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisFactory,
  ) {}

  async assertNotLocked(counters: AttemptCounter[]): Promise<void> {
    const keys = counters.map((c) => this.redisKey(c.key));
    const values = await this.redis.mget(...keys);
    for (const [index, counter] of counters.entries()) {
      if (Number(values[index] ?? 0) >= counter.limit) {
        const ttl = await this.redis.pttl(keys[index]);
        throw new RateLimitedError(ttl > 0 ? ttl / 1000 : 1, 'Too many failed attempts; try again later.');
      }
    }
  }

  async recordFailure(counters: AttemptCounter[], windowSeconds: number): Promise<void> {
    const pipeline = this.redis.multi();
    for (const counter of counters) {
      const key = this.redisKey(counter.key);
      pipeline.incr(key).expire(key, windowSeconds, 'NX');
    }
    await pipeline.exec();
  }

  async clear(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys.map((key) => this.redisKey(key)));
  }

  private redisKey(key: string): string {
    // Hashed so emails and IPs do not sit in Redis key names.
    return this.keys.key('auth', 'attempts', sha256(key));
  }
}
