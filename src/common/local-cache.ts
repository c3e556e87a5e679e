import { LRUCache } from 'lru-cache';

/** Message that drops every entry of a cache. */
export const INVALIDATE_ALL = '*';
export const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * A process-local copy of a little shared state (a user's budget limit, a provider's closed
 * circuit) that the hot path may read without a round trip. It is only trusted while this
 * process listens to the store's change messages (Redis pub/sub: `InvalidationBus`; PostgreSQL
 * LISTEN/NOTIFY: `PgNotifications`): every change publishes the key, every process drops it on
 * receipt, and when the listening connection drops the whole cache is dropped and stays off until
 * listening is confirmed again. Entries also expire after `ttlMs`, which bounds staleness should a
 * message ever be lost on a connection that has not noticed it is dead.
 */
export class LocalCache<V> {
  /**
   * Boxed, so that null ("no limit") can be a value: lru-cache keeps no nullish values. Typed
   * `unknown` inside so that any LocalCache<V> passes where a LocalCache<unknown> is expected.
   */
  private readonly entries: LRUCache<string, { value: unknown }>;
  /** Bumped by every drop: a value read before a drop must not be cached after it. */
  private generation = 0;
  private live = false;

  constructor(
    readonly channel: string,
    private readonly ttlMs: number,
    maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    this.entries = new LRUCache({ max: maxEntries, ...(ttlMs > 0 ? { ttl: ttlMs } : {}) });
  }

  get(key: string): V | undefined {
    return this.entries.get(key)?.value as V | undefined;
  }

  /** Take before reading the shared state; pass to `set`, which ignores the value if a drop came in between. */
  token(): number {
    return this.generation;
  }

  set(key: string, value: V, token: number): void {
    if (!this.live || this.ttlMs <= 0 || token !== this.generation) return;
    this.entries.set(key, { value });
  }

  /** Whether listening to `channel` is confirmed on the current connection. */
  isLive(): boolean {
    return this.live;
  }

  /** Listening (again): values read before now may predate a message this process missed. */
  goLive(): void {
    this.generation++;
    this.live = true;
  }

  /** The listening connection is gone: nothing cached can be trusted until it is back. */
  goDark(): void {
    this.live = false;
    this.drop(INVALIDATE_ALL);
  }

  /** Drops the key in this process (on a change message, or on a change this process makes itself). */
  drop(key: string): void {
    this.generation++;
    if (key === INVALIDATE_ALL) this.entries.clear();
    else this.entries.delete(key);
  }
}
