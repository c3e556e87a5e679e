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
 * Atomically: if any counter (KEYS[i], limit ARGV[i + 1]) has reached its limit, answer its index
 * (1-based) and remaining time; otherwise count this attempt on every counter (the window, ARGV[1]
 * seconds, starts with the first attempt) and answer 0.
 */
const CLAIM = `
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    return {i, redis.call('PTTL', key)}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
end
return {0, 0}`;

/** The first key is deleted, the others given back one attempt (never below zero). */
const SUCCEEDED = `
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0`;

/**
 * Counts sign-in attempts (passwords and 2FA codes) per account and per IP in Redis. Once a
 * counter reaches its limit every attempt gets the same 429 answer, right or wrong, until the
 * window ends: a locked account cannot be used to test passwords, and the answer does not tell
 * whether the account exists.
 *
 * Count first, then compare: `claim` counts an attempt before its secret is checked, in one step
 * with the limit check, so N guesses sent at once are N attempts (a check-then-count lets every
 * guess of a burst through before the first failure is counted). A right answer then gives its
 * attempt back with `succeeded`.
 */
@Injectable()
export class AttemptsService {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisFactory,
  ) {}

  /** Counts an attempt on every counter, or throws 429 (counting nothing) when one is at its limit. */
  async claim(counters: AttemptCounter[], windowSeconds: number): Promise<void> {
    const keys = counters.map((c) => this.redisKey(c.key));
    const [locked, ttl] = (await this.redis.eval(
      CLAIM,
      keys.length,
      ...keys,
      windowSeconds,
      ...counters.map((c) => c.limit),
    )) as [number, number];
    if (locked > 0) throw new RateLimitedError(ttl > 0 ? ttl / 1000 : 1, 'Too many failed attempts; try again later.');
  }

  /**
   * The claimed attempt was right: the first counter (the account's) starts again, the others (an
   * IP's, shared with other accounts) only give this attempt back.
   */
  async succeeded(counters: AttemptCounter[]): Promise<void> {
    const keys = counters.map((c) => this.redisKey(c.key));
    await this.redis.eval(SUCCEEDED, keys.length, ...keys);
  }

  async clear(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys.map((key) => this.redisKey(key)));
  }

  private redisKey(key: string): string {
    // Hashed so emails and IPs do not sit in Redis key names.
    return this.keys.key('auth', 'attempts', sha256(key));
  }
}
