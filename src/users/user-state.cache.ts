import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { AllConfig } from '#src/config/namespaces.js';
import { RedisFactory } from '#src/redis/redis.factory.js';

/** What the JWT guard needs to know about a session and its user on every request. */
export interface SessionState {
  email: string;
  role: 'user' | 'admin';
  emailVerified: boolean;
  isActive: boolean;
  sessionActive: boolean;
}

/**
 * A short-lived Redis cache of session + user state, so the guard does not query PostgreSQL on
 * every request. Correctness does not rest on the TTL: every change to a user or one of their
 * sessions bumps the user's generation counter after it commits, and an entry is only used when
 * it was filled under the current generation. A reader that loaded old rows just before a change
 * writes an entry stamped with the old generation, which the next reader ignores.
 */
@Injectable()
export class UserStateCache implements OnApplicationShutdown {
  private readonly ttlSeconds: number;

  /**
   * Its own connection with auto-pipelining: every authenticated request reads here, and the
   * reads of concurrent requests go out in one write instead of one syscall each.
   */
  private readonly redis: Redis;

  /**
   * User values (the profile) also kept in this process, stamped like the Redis entries. Used only
   * when the caller already knows the user's current generation from this very request (the guard
   * read it with the session state a moment ago), so a hit saves the second Redis round trip of
   * GET /users/me and is exactly as fresh as the Redis entry would be.
   */
  private readonly local = new LRUCache<string, { gen: number; value: unknown }>({ max: 10_000 });

  constructor(
    private readonly keys: RedisFactory,
    config: ConfigService<AllConfig, true>,
  ) {
    this.ttlSeconds = config.get('auth', { infer: true }).stateCacheSeconds;
    this.redis = keys.create('auth-state', { enableAutoPipelining: true });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** The cached state (or undefined) and the generation to stamp a fresh fill with. */
  read(userId: string, sessionId: string): Promise<{ state?: SessionState; gen: number }> {
    return this.readStamped<SessionState>(userId, this.sessionKey(userId, sessionId)).then(({ value, gen }) => ({
      state: value,
      gen,
    }));
  }

  write(userId: string, sessionId: string, gen: number, state: SessionState): Promise<void> {
    return this.writeStamped(this.sessionKey(userId, sessionId), gen, state);
  }

  /**
   * Any JSON value about the user (e.g. the profile served by GET /users/me), under the same rules.
   * `currentGen`: the user's generation as this request already read it (see `read`), if known.
   */
  async readUserValue<T>(userId: string, name: string, currentGen?: number): Promise<{ value?: T; gen: number }> {
    const key = this.userKey(userId, name);
    if (currentGen !== undefined && this.ttlSeconds > 0) {
      const local = this.local.get(key);
      if (local?.gen === currentGen) return { value: local.value as T, gen: currentGen };
    }
    const read = await this.readStamped<T>(userId, key);
    if (read.value !== undefined) this.local.set(key, { gen: read.gen, value: read.value });
    return read;
  }

  async writeUserValue(userId: string, name: string, gen: number, value: unknown): Promise<void> {
    const key = this.userKey(userId, name);
    await this.writeStamped(key, gen, value);
    if (this.ttlSeconds > 0) this.local.set(key, { gen, value });
  }

  private async readStamped<T>(userId: string, key: string): Promise<{ value?: T; gen: number }> {
    if (this.ttlSeconds === 0) return { gen: 0 };
    const [raw, genRaw] = await this.redis.mget(key, this.genKey(userId));
    const gen = Number(genRaw ?? 0);
    if (!raw) return { gen };
    const cached = JSON.parse(raw) as { gen: number; value: T };
    return cached.gen === gen ? { value: cached.value, gen } : { gen };
  }

  private async writeStamped(key: string, gen: number, value: unknown): Promise<void> {
    if (this.ttlSeconds === 0) return;
    await this.redis.set(key, JSON.stringify({ gen, value }), 'EX', this.ttlSeconds);
  }

  /** Call after committing any change to the user or to one of their sessions. */
  async invalidate(userId: string): Promise<void> {
    const key = this.genKey(userId);
    await this.redis
      .multi()
      .incr(key)
      .expire(key, 8 * 24 * 3600)
      .exec();
  }

  /**
   * Keyed by the owner too: the database answers a session only for its own user, and so must the
   * cache (a token naming user B and user A's session finds nothing here, as it finds no row there).
   */
  private sessionKey(userId: string, sessionId: string): string {
    return this.keys.key('auth', 'session', userId, sessionId);
  }

  private userKey(userId: string, name: string): string {
    return this.keys.key('auth', 'user', userId, name);
  }

  private genKey(userId: string): string {
    return this.keys.key('auth', 'user-gen', userId);
  }
}
