import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RunsService } from '#src/agents/runs/runs.service.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { CancelledRunError } from '#src/agents/graph/graph.errors.js';

/**
 * Listens for cancel requests (published by any API process) and aborts the matching in-flight
 * runs of this worker: their model calls and sandbox processes get the abort signal.
 */
@Injectable()
export class RunCancellationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RunCancellationService.name);
  private readonly controllers = new Map<string, AbortController>();
  private subscriber?: Redis;

  constructor(
    private readonly redisFactory: RedisFactory,
    private readonly runs: RunsService,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redisFactory.create('run-cancel-sub');
    this.subscriber.on('message', (_channel: string, runId: string) => this.abort(runId));
    await this.subscriber.subscribe(this.runs.cancelChannel());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** The controller of a run this worker is about to work on. */
  register(runId: string): AbortController {
    const controller = new AbortController();
    this.controllers.set(runId, controller);
    return controller;
  }

  release(runId: string, controller: AbortController): void {
    if (this.controllers.get(runId) === controller) this.controllers.delete(runId);
  }

  private abort(runId: string): void {
    const controller = this.controllers.get(runId);
    if (!controller) return;
    this.logger.log({ runId }, 'cancelling the run');
    controller.abort(new CancelledRunError());
  }
}
