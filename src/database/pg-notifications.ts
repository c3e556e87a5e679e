import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import pg from 'pg';
import type { AllConfig } from '#src/config/namespaces.js';
import { LocalCache } from '#src/common/local-cache.js';
import { quoteIdent } from './ensure-database.js';

/** How long `notified` waits before giving up (the listener may be reconnecting). */
const WAIT_TIMEOUT_MS = 2_000;
const RECONNECT_DELAY_MS = 1_000;

/**
 * One PostgreSQL connection per process that LISTENs for change notifications (sent by triggers,
 * so by every writer, in the committing transaction) and drops the matching entries of local
 * caches. A notification's payload is the changed key (`*`: everything).
 */
@Injectable()
export class PgNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger(PgNotifications.name);
  private readonly url: string;
  private readonly caches = new Map<string, LocalCache<unknown>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private client?: pg.Client;
  private connecting = false;
  private reconnect?: NodeJS.Timeout;
  private closed = false;

  constructor(config: ConfigService<AllConfig, true>) {
    this.url = config.get('database', { infer: true }).url;
  }

  /** A cache whose entries are dropped by notifications on `channel` (an identifier). */
  cache<V>(channel: string, options: { ttlMs: number; maxEntries?: number }): LocalCache<V> {
    if (this.caches.has(channel)) throw new Error(`local cache ${channel} exists already`);
    const cache = new LocalCache<V>(channel, options.ttlMs, options.maxEntries);
    this.caches.set(channel, cache);
    if (this.client) void this.listen(this.client, [cache]);
    else void this.connect();
    return cache;
  }

  /** Every cache's channel is being listened to: the caches are in use. */
  isLive(): boolean {
    return [...this.caches.values()].every((cache) => cache.isLive());
  }

  /**
   * Resolves when this process receives a notification of `key` on `channel` (or after a short
   * timeout). Call before the change, await after its commit: PostgreSQL signals every listening
   * session at commit, so by then the others have it too.
   */
  notified(channel: string, key: string): { received: Promise<void>; cancel: () => void } {
    const id = `${channel}\u0000${key}`;
    let done!: () => void;
    const received = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), WAIT_TIMEOUT_MS);
      done = () => {
        clearTimeout(timer);
        const set = this.waiters.get(id);
        set?.delete(done);
        if (set?.size === 0) this.waiters.delete(id);
        resolve();
      };
    });
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(done);
    return { received, cancel: done };
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    this.releaseWaiters();
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.connecting || this.client || this.closed) return;
    this.connecting = true;
    const client = new pg.Client({ connectionString: this.url, application_name: 'quorum:notifications' });
    client.on('notification', ({ channel, payload }) => {
      const key = payload ?? '*';
      this.caches.get(channel)?.drop(key);
      for (const done of [...(this.waiters.get(`${channel}\u0000${key}`) ?? [])]) done();
    });
    client.on('error', (error: Error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      this.client = client;
      await this.listen(client, [...this.caches.values()]);
    } catch (error) {
      this.lost(client, error as Error);
      await client.end().catch(() => undefined);
    } finally {
      this.connecting = false;
    }
  }

  private async listen(client: pg.Client, caches: LocalCache<unknown>[]): Promise<void> {
    try {
      for (const cache of caches) await client.query(`LISTEN ${quoteIdent(cache.channel)}`);
      if (this.client === client) for (const cache of caches) cache.goLive();
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  private lost(client: pg.Client, error?: Error): void {
    for (const cache of this.caches.values()) cache.goDark();
    this.releaseWaiters();
    if (this.client === client) this.client = undefined;
    if (this.closed) return;
    if (error) this.logger.warn(`notification listener: ${error.message}`);
    clearTimeout(this.reconnect);
    this.reconnect = setTimeout(() => void this.connect(), RECONNECT_DELAY_MS);
    this.reconnect.unref();
  }

  private releaseWaiters(): void {
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done();
  }
}
