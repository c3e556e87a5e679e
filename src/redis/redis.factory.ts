import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Redis, RedisOptions } from 'ioredis';
import type { AllConfig } from '#src/config/namespaces.js';

/** Builds ioredis clients for the configured server; keys are namespaced by `key()`. */
@Injectable()
export class RedisFactory {
  private readonly url: string;
  readonly prefix: string;

  constructor(config: ConfigService<AllConfig, true>) {
    const redis = config.get('redis', { infer: true });
    this.url = redis.url;
    this.prefix = redis.prefix;
  }

  /** A new client. `purpose` names it in CLIENT LIST; subscribers and blocking readers need their own. */
  create(purpose: string, options: RedisOptions = {}): Redis {
    return new Redis(this.url, {
      connectionName: `quorum:${purpose}`,
      maxRetriesPerRequest: 3,
      enableOfflineQueue: true,
      ...options,
    });
  }

  /** Options for BullMQ, which wants `maxRetriesPerRequest: null` on its blocking connections. */
  bullConnection(): RedisOptions {
    const url = new URL(this.url);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 6379),
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
      tls: url.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: null,
    };
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}
