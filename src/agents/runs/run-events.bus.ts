import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisFactory } from '#src/redis/redis.factory.js';
import type { RunEventMessage } from './run-events.service.js';

type Listener = (message: RunEventMessage) => void;

/** How long a subscribe waits for the subscriber connection to be ready before it gives up. */
const READY_TIMEOUT_MS = 10_000;

/**
 * One Redis subscriber connection per process, shared by every SSE reader: a channel is subscribed
 * while at least one reader listens to it. The connection is made at start and every SUBSCRIBE waits
 * until it is ready: a SUBSCRIBE sent while ioredis still runs its ready check (INFO) puts the
 * connection in subscriber mode under that check, which then fails every waiting reader ("Connection
 * in subscriber mode") — what a burst of reconnecting browsers on a fresh process used to hit.
 */
@Injectable()
export class RunEventsBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RunEventsBus.name);
  private subscriber?: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly redisFactory: RedisFactory) {}

  async onModuleInit(): Promise<void> {
    // Connected at start; a Redis that is not there yet only delays the first reader (preflight checked it).
    await this.ready().catch((error: unknown) =>
      this.logger.warn({ err: error }, 'the run events subscriber is not ready yet'),
    );
  }

  /** Resolves once Redis confirms the subscription, so nothing published afterwards is missed. */
  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    const subscriber = await this.ready();
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

  /** The subscriber once its connection is ready (after a reconnect too). */
  private async ready(): Promise<Redis> {
    const subscriber = this.connection();
    if (subscriber.status === 'ready') return subscriber;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        subscriber.off('ready', onReady);
        subscriber.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new Error('the run events subscriber connection ended'));
      const timer = setTimeout(
        () => done(new Error(`the run events subscriber was not ready within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      subscriber.on('ready', onReady);
      subscriber.on('end', onEnd);
    });
    return subscriber;
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.redisFactory.create('run-events-sub');
    // ioredis reconnects by itself; without a listener its errors would be printed as unhandled.
    subscriber.on('error', (error: Error) => this.logger.warn({ err: error }, 'run events subscriber error'));
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
