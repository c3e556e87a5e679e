import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import type { AllConfig } from '#src/config/namespaces.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import type { ProviderName } from './llm.types.js';

export interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  samples: number;
}

/** Latest samples kept per series (a bounded Redis list). */
const MAX_SAMPLES = 256;

/**
 * Latency of successful model calls per provider/model (and per provider), as p50/p95 over a
 * sliding window (`LLM_LATENCY_WINDOW_MS`) shared by every process through Redis: each process
 * appends its samples to one list per series (`LPUSH` + `LTRIM`, batched once per
 * `LLM_LATENCY_SYNC_MS`) and re-reads the series it routes on at the same pace. A routing
 * decision reads only this process's last snapshot: no round trip on the call's path.
 */
@Injectable()
export class LatencyTrackerService implements OnModuleDestroy {
  private readonly logger = new Logger(LatencyTrackerService.name);
  private readonly windowMs: number;
  private readonly syncMs: number;
  /** Samples not yet pushed, oldest first, per series. */
  private pending = new Map<string, string[]>();
  private readonly watched = new Set<string>();
  private snapshot = new Map<string, LatencyStats>();
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly redisFactory: RedisFactory,
    config: ConfigService<AllConfig, true>,
  ) {
    const llm = config.get('llm', { infer: true });
    this.windowMs = llm.latencyWindowMs;
    this.syncMs = llm.latencySyncMs;
  }

  /** A successful attempt's latency; shared with the other processes at the next sync. */
  record(provider: ProviderName, model: string, latencyMs: number): void {
    const entry = `${Date.now()}:${Math.round(latencyMs)}`;
    const series = seriesOf(provider, model);
    this.push(series, entry);
    this.push(provider, entry);
    this.watched.add(series);
    this.schedule();
  }

  /**
   * Keeps at most the newest MAX_SAMPLES entries of a series until the next sync: Redis keeps no
   * more (LTRIM), so older ones could only be pushed to be trimmed away again.
   */
  private push(series: string, entry: string): void {
    let entries = this.pending.get(series);
    if (!entries) this.pending.set(series, (entries = []));
    entries.push(entry);
    if (entries.length >= 2 * MAX_SAMPLES) entries.splice(0, entries.length - MAX_SAMPLES);
  }

  /** The last synced p50/p95 of a provider/model (undefined: no sample in the window). */
  stats(provider: ProviderName, model: string): LatencyStats | undefined {
    const series = seriesOf(provider, model);
    if (!this.watched.has(series)) {
      this.watched.add(series);
      this.schedule();
    }
    return this.snapshot.get(series);
  }

  /** Reads a provider's window from Redis now (admin view): all its models together. */
  async providerStats(provider: ProviderName): Promise<LatencyStats | undefined> {
    const entries = await this.redis.lrange(this.key(seriesOf(provider)), 0, -1);
    return summarise(entries, Date.now() - this.windowMs);
  }

  /** Pushes pending samples and refreshes the snapshot now (tests, shutdown). */
  async sync(): Promise<void> {
    if (this.syncing) await this.syncing;
    this.syncing = this.doSync().finally(() => (this.syncing = undefined));
    await this.syncing;
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size) await this.sync().catch(() => undefined);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync().then(
        () => {
          if (this.watched.size) this.schedule(); // keep the snapshot fresh while we route on it
        },
        (error: Error) => {
          this.logger.warn(`latency sync failed: ${error.message}`);
          this.schedule();
        },
      );
    }, this.syncMs);
    this.timer.unref();
  }

  private async doSync(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const series = [...this.watched];
    const pipeline = this.redis.pipeline();
    // One variadic LPUSH per series and sync (it pushes its arguments in order, as one LPUSH each
    // would), not three commands per sample: a busy process records thousands of samples a second.
    for (const [name, entries] of batch) {
      const key = this.key(name);
      pipeline
        .lpush(key, ...entries.slice(-MAX_SAMPLES))
        .ltrim(key, 0, MAX_SAMPLES - 1)
        .pexpire(key, this.windowMs);
    }
    for (const name of series) pipeline.lrange(this.key(name), 0, -1);
    const results = (await pipeline.exec()) ?? [];
    const reads = results.slice(results.length - series.length);
    const since = Date.now() - this.windowMs;
    const next = new Map<string, LatencyStats>();
    series.forEach((name, i) => {
      const [error, entries] = reads[i] ?? [];
      if (error || !Array.isArray(entries)) return;
      const stats = summarise(entries as string[], since);
      if (stats) next.set(name, stats);
    });
    this.snapshot = next;
  }

  private key(series: string): string {
    return this.redisFactory.key('llm', 'latency', series);
  }
}

function seriesOf(provider: ProviderName, model?: string): string {
  return model === undefined ? provider : `${provider}:${model}`;
}

/** Nearest-rank percentiles of the samples newer than `since`. */
export function summarise(entries: string[], since: number): LatencyStats | undefined {
  const values: number[] = [];
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (Number(entry.slice(0, colon)) >= since) values.push(Number(entry.slice(colon + 1)));
  }
  if (!values.length) return undefined;
  values.sort((a, b) => a - b);
  const rank = (p: number) => values[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)];
  return { p50Ms: rank(50), p95Ms: rank(95), samples: values.length };
}
