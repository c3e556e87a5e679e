import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import type { AllConfig } from '#src/config/namespaces.js';
import type { LocalCache } from '#src/common/local-cache.js';
import { InvalidationBus } from '#src/redis/invalidation-bus.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { llmMetrics } from '#src/metrics/prometheus.js';
import type { ProviderName } from './llm.types.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerPermit {
  allowed: boolean;
  state: BreakerState;
  /** This caller is the single half-open probe. */
  probe: boolean;
  /** Consecutive failures so far (closed state). */
  failures: number;
}

// Every transition is one Lua script, so the check-and-set is atomic across all workers; time comes
// from the Redis server (TIME) so worker clocks cannot disagree about a cooldown.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const ACQUIRE = `${NOW}
local h = redis.call('HMGET', KEYS[1], 'state', 'failures', 'opened_at', 'probe_until')
local state = h[1] or 'closed'
local failures = tonumber(h[2] or '0')
if state == 'closed' then return {1, state, 0, failures} end
if state == 'open' then
  if now - tonumber(h[3] or '0') >= tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[2]))
    return {1, 'half_open', 1, failures}
  end
  return {0, state, 0, failures}
end
if now >= tonumber(h[4] or '0') then
  redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[2]))
  return {1, 'half_open', 1, failures}
end
return {0, state, 0, failures}`;

// The scripts that change a circuit publish the change (ARGV[1] channel, ARGV[2] message) in the
// same script, so no process holding a copy of "closed, no failures" can miss it, and return
// {state after, 1 if they published}.
const SUCCESS = `
local h = redis.call('HMGET', KEYS[1], 'state', 'failures')
if (h[1] or 'closed') ~= 'closed' or tonumber(h[2] or '0') > 0 then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return {'closed', 1}
end
return {'closed', 0}`;

const FAILURE = `${NOW}
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then return {'open', 0} end
redis.call('PUBLISH', ARGV[1], ARGV[2])
if state == 'half_open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now)
  return {'open', 1}
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'failures', 0)
  return {'open', 1}
end
return {'closed', 1}`;

const RELEASE_PROBE = `
if redis.call('HGET', KEYS[1], 'state') == 'half_open' then redis.call('HSET', KEYS[1], 'probe_until', 0) end
return 1`;

const RESET = `
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return {'closed', 1}`;

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Per-provider circuit breaker whose state lives in Redis, so every api and worker process sees
 * the same circuit: N consecutive outage failures open it; after the cooldown one caller probes
 * (half-open); the probe's success closes it, its failure re-opens it.
 *
 * The common case, a closed circuit without failures, is remembered by each process so a call
 * does not pay a Redis round trip to learn it. Every transition away from it (a failure counted,
 * the circuit opened, a reset) publishes the provider in the same Lua script, and each process
 * drops its copy on receipt: a circuit opened by one process stops the others' calls as soon as
 * the message arrives (well under a millisecond on one network), and never later than
 * `LLM_BREAKER_CACHE_MS` (the copy's lifetime) should the message be lost. A process whose
 * subscriber connection is down trusts no copy and asks Redis on every call, as before.
 * Anything but "closed, no failures" is never copied: half-open probes and open circuits are
 * decided in Redis every time.
 */
@Injectable()
export class CircuitBreakerService {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly probeTtlMs: number;
  private readonly shas = new Map<string, string>();
  /** When this process last saw each provider's circuit open (for routing; the breaker still decides). */
  private readonly seenOpen = new Map<ProviderName, number>();
  /** Providers whose circuit this process saw closed without failures. */
  private readonly closedCircuits: LocalCache<true>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly redisFactory: RedisFactory,
    private readonly invalidations: InvalidationBus,
    config: ConfigService<AllConfig, true>,
  ) {
    const llm = config.get('llm', { infer: true });
    this.threshold = llm.breaker.failureThreshold;
    this.cooldownMs = llm.breaker.cooldownMs;
    // A probe that never reports back (crashed worker) is replaced after one call timeout.
    this.probeTtlMs = llm.timeoutMs + 1_000;
    this.closedCircuits = invalidations.cache<true>('llm-breaker', { ttlMs: llm.breaker.cacheMs });
  }

  async acquire(provider: ProviderName): Promise<BreakerPermit> {
    if (this.closedCircuits.get(provider)) return { allowed: true, state: 'closed', probe: false, failures: 0 };
    const token = this.closedCircuits.token();
    const [allowed, state, probe, failures] = (await this.run(ACQUIRE, provider, [
      this.cooldownMs,
      this.probeTtlMs,
    ])) as [number, BreakerState, number, number];
    if (state === 'closed' && failures === 0) this.closedCircuits.set(provider, true, token);
    this.see(provider, state);
    llmMetrics().breakerState.set({ provider }, STATE_VALUE[state]);
    return { allowed: allowed === 1, state, probe: probe === 1, failures };
  }

  async recordSuccess(provider: ProviderName, permit?: BreakerPermit): Promise<void> {
    // Nothing to reset when the circuit was closed without failures: saves a round trip per call.
    if (permit && permit.state === 'closed' && permit.failures === 0) return;
    await this.change(SUCCESS, provider);
    this.seenOpen.delete(provider);
    llmMetrics().breakerState.set({ provider }, STATE_VALUE.closed);
  }

  async recordFailure(provider: ProviderName): Promise<BreakerState> {
    const state = await this.change(FAILURE, provider, [this.threshold]);
    this.see(provider, state);
    llmMetrics().breakerState.set({ provider }, STATE_VALUE[state]);
    return state;
  }

  /**
   * Whether this process saw the circuit open less than a cooldown ago: the router then prefers
   * other candidates without asking Redis. After the cooldown a probe may be due, so it is tried.
   */
  isKnownOpen(provider: ProviderName): boolean {
    const at = this.seenOpen.get(provider);
    return at !== undefined && Date.now() - at < this.cooldownMs;
  }

  private see(provider: ProviderName, state: BreakerState): void {
    if (state === 'open') {
      if (!this.seenOpen.has(provider)) this.seenOpen.set(provider, Date.now());
    } else this.seenOpen.delete(provider);
  }

  /** A probe permit that was not used (the call never started): the next caller may probe. */
  async releaseProbe(provider: ProviderName): Promise<void> {
    await this.run(RELEASE_PROBE, provider, []);
  }

  async state(provider: ProviderName): Promise<BreakerState> {
    return ((await this.redis.hget(this.key(provider), 'state')) as BreakerState | null) ?? 'closed';
  }

  async reset(provider: ProviderName): Promise<void> {
    await this.change(RESET, provider);
  }

  /**
   * Runs a script that may change `provider`'s circuit and publish it, and returns the state after
   * once that message came back to this process, so every other process has it before the caller
   * goes on (see `InvalidationBus.invalidate`).
   */
  private async change(script: string, provider: ProviderName, args: (string | number)[] = []): Promise<BreakerState> {
    const announcement = this.invalidations.announce(this.closedCircuits, provider);
    let state: BreakerState;
    let published: number;
    try {
      [state, published] = (await this.run(script, provider, [
        this.closedCircuits.channel,
        announcement.message,
        ...args,
      ])) as [BreakerState, number];
    } catch (error) {
      announcement.cancel();
      throw error;
    }
    if (published === 1) await announcement.echoed;
    else announcement.cancel();
    // A call of this process that read Redis just before the script ran must not keep what it saw.
    this.closedCircuits.drop(provider);
    return state;
  }

  private key(provider: ProviderName): string {
    return this.redisFactory.key('llm', 'breaker', provider);
  }

  private async run(script: string, provider: ProviderName, args: (string | number)[]): Promise<unknown> {
    const key = this.key(provider);
    let sha = this.shas.get(script);
    if (sha) {
      try {
        return await this.redis.evalsha(sha, 1, key, ...args);
      } catch (error) {
        if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      }
    }
    sha = (await this.redis.script('LOAD', script)) as string;
    this.shas.set(script, sha);
    return this.redis.evalsha(sha, 1, key, ...args);
  }
}
