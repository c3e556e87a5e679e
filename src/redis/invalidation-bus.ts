import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LocalCache } from '#src/common/local-cache.js';
import { REDIS_CLIENT } from './redis.constants.js';
import { RedisFactory } from './redis.factory.js';

/** How long a change waits for its own message to come back before returning anyway. */
const ECHO_TIMEOUT_MS = 2_000;

export interface Announcement {
  /** What to publish on the cache's channel. */
  message: string;
  /** Resolves once this process received the message back. */
  echoed: Promise<void>;
  /** The message was not published after all. */
  cancel: () => void;
}

/**
 * One Redis subscriber connection per process carrying the invalidations of every `LocalCache`.
 * Channels are namespaced with the Redis prefix; a message is `<key>` or `<key> <echo id>` (keys,
 * such as user ids and provider names, contain no space).
 */
@Injectable()
export class InvalidationBus implements OnApplicationShutdown {
  private readonly logger = new Logger(InvalidationBus.name);
  private readonly caches = new Map<string, LocalCache<unknown>>();
  private readonly echoes = new Map<string, () => void>();
  private subscriber?: Redis;
  /** Bumped on every connection loss, so a subscribe confirmation from an older connection is ignored. */
  private connection = 0;
  private closed = false;

  constructor(
    private readonly redisFactory: RedisFactory,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  cache<V>(name: string, options: { ttlMs: number; maxEntries?: number }): LocalCache<V> {
    const channel = this.redisFactory.key('invalidate', name);
    if (this.caches.has(channel)) throw new Error(`local cache ${name} exists already`);
    const cache = new LocalCache<V>(channel, options.ttlMs, options.maxEntries);
    this.caches.set(channel, cache);
    const subscriber = this.connect();
    if (subscriber.status === 'ready') this.subscribe(subscriber, [cache]);
    return cache;
  }

  /** Every cache's subscription is confirmed: the caches are in use. */
  isLive(): boolean {
    return [...this.caches.values()].every((cache) => cache.isLive());
  }

  /**
   * Drops the key here and in every process. Resolves once the message has come back to this
   * process's own subscriber: Redis writes a published message to all subscribers in the same
   * step, so by then it is in every live process's socket ahead of anything the caller does next.
   */
  async invalidate(cache: LocalCache<unknown>, key: string): Promise<void> {
    const announcement = this.announce(cache, key);
    try {
      await this.redis.publish(cache.channel, announcement.message);
    } catch (error) {
      announcement.cancel();
      throw error;
    }
    await announcement.echoed;
  }

  /**
   * For writers that publish on the cache's channel themselves (inside a Lua script, atomically
   * with the change): drops the key here and gives the message to publish and its echo (see
   * `invalidate`).
   */
  announce(cache: LocalCache<unknown>, key: string): Announcement {
    cache.drop(key);
    if (!cache.isLive()) return { message: key, echoed: Promise.resolve(), cancel: () => undefined };
    const echo = this.expectEcho();
    return { message: `${key} ${echo.id}`, echoed: echo.echoed, cancel: echo.cancel };
  }

  /** An id to append to a message; `echoed` resolves when this process receives it (or after a timeout). */
  private expectEcho(): { id: string; echoed: Promise<void>; cancel: () => void } {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const echoed = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.echoes.delete(id);
        resolve();
      };
      this.echoes.set(id, done);
      // The subscriber may drop right after publishing; the message reached the others anyway.
      timer = setTimeout(done, ECHO_TIMEOUT_MS);
    });
    return { id, echoed, cancel: () => this.echoes.get(id)?.() };
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const done of [...this.echoes.values()]) done();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private connect(): Redis {
    if (this.subscriber) return this.subscriber;
    // Subscriptions are renewed by hand on every (re)connection: a cache is trusted again only
    // once Redis confirms its channel, and ioredis' automatic resubscription does not say when.
    const subscriber = this.redisFactory.create('invalidations-sub', { autoResubscribe: false });
    subscriber.on('ready', () => this.subscribe(subscriber, [...this.caches.values()]));
    subscriber.on('close', () => {
      this.connection++;
      for (const cache of this.caches.values()) cache.goDark();
      // No echo can arrive on this connection any more; the messages reached the others or not.
      for (const done of [...this.echoes.values()]) done();
    });
    subscriber.on('error', (error: Error) => {
      if (!this.closed) this.logger.warn(`invalidation subscriber: ${error.message}`);
    });
    subscriber.on('message', (channel: string, message: string) => {
      const space = message.indexOf(' ');
      const key = space === -1 ? message : message.slice(0, space);
      this.caches.get(channel)?.drop(key);
      if (space !== -1) this.echoes.get(message.slice(space + 1))?.();
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private subscribe(subscriber: Redis, caches: LocalCache<unknown>[]): void {
    if (!caches.length) return;
    const connection = this.connection;
    subscriber.subscribe(...caches.map((cache) => cache.channel)).then(
      () => {
        if (connection !== this.connection) return;
        for (const cache of caches) cache.goLive();
      },
      (error: Error) => {
        if (!this.closed) this.logger.warn(`invalidation subscribe failed: ${error.message}`);
      },
    );
  }
}
