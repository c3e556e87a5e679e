import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisFactory } from '#src/redis/redis.factory.js';
import type { RunEventMessage } from './run-events.service.js';

type Listener = (message: RunEventMessage) => void;

/**
 * One Redis subscriber connection per process, shared by every SSE reader: a channel is subscribed
 * while at least one reader listens to it.
 */
@Injectable()
export class RunEventsBus implements OnApplicationShutdown {
  private readonly logger = new Logger(RunEventsBus.name);
  private subscriber?: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly redisFactory: RedisFactory) {}

  /** Resolves once Redis confirms the subscription, so nothing published afterwards is missed. */
  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    const subscriber = this.connection();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    await subscriber.subscribe(channel);
    return async () => {
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current && current.size === 0) {
        this.listeners.delete(channel);
        await subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.redisFactory.create('run-events-sub');
    subscriber.on('message', (channel: string, payload: string) => {
      const set = this.listeners.get(channel);
      if (!set) return;
      let message: RunEventMessage;
      try {
        message = JSON.parse(payload) as RunEventMessage;
      } catch {
        this.logger.warn({ channel }, 'ignoring a malformed run event message');
        return;
      }
      for (const listener of set) listener(message);
    });
    this.subscriber = subscriber;
    return subscriber;
  }
}
