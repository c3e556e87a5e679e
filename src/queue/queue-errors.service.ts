import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { QueueName } from './queue.constants.js';

const QUIET_MS = 30_000;

/**
 * BullMQ prints connection errors to the console when nobody listens. Route them to the logger,
 * at most once per queue every 30 s, so a Redis outage is a few clear lines rather than a flood.
 */
@Injectable()
export class QueueErrorsService implements OnModuleInit {
  private readonly logger = new Logger(QueueErrorsService.name);
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    for (const name of Object.values(QueueName)) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      queue.on('error', (error: Error) => {
        const now = Date.now();
        if (now - (this.lastLogged.get(name) ?? 0) < QUIET_MS) return;
        this.lastLogged.set(name, now);
        this.logger.warn(`queue ${name}: ${error.message}`);
      });
    }
  }
}
