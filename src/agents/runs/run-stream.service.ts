import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request, Response } from 'express';
import { TERMINAL_EVENT_TYPES, type EventType } from '#src/common/events.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { RunEventsBus } from './run-events.bus.js';
import { RunEventMessage, RunEventsService } from './run-events.service.js';
import { RunsService } from './runs.service.js';

/**
 * A run's live stream over SSE. Order of operations gives replay without gap or duplicate: subscribe
 * to the run's Redis channel first (buffering), then send the stored events after the cursor, then
 * the buffered and live ones whose seq is beyond the last sent. A seq gap in the live feed (a lost
 * publish) is filled from the database. The stream ends after the terminal event.
 */
@Injectable()
export class RunStreamService {
  private readonly logger = new Logger(RunStreamService.name);
  private readonly heartbeatMs: number;

  constructor(
    private readonly runs: RunsService,
    private readonly events: RunEventsService,
    private readonly bus: RunEventsBus,
    config: ConfigService<AllConfig, true>,
  ) {
    this.heartbeatMs = config.get('agents', { infer: true }).sseHeartbeatMs;
  }

  async open(runId: string, after: number, req: Request, res: Response): Promise<void> {
    await this.runs.get(runId);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n\n');

    let lastSent = after;
    let live = false;
    let closed = false;
    const buffered: RunEventMessage[] = [];
    let chain: Promise<void> = Promise.resolve();

    const heartbeat = setInterval(() => {
      if (!closed) res.write(': heartbeat\n\n');
    }, this.heartbeatMs);
    let unsubscribe: (() => Promise<void>) | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      if (unsubscribe)
        void unsubscribe().catch((error: unknown) => this.logger.debug({ err: error, runId }, 'unsubscribe failed'));
      res.end();
    };
    // A reader closing its stream is normal (a tab closed, a reconnect): worth a debug line, no more.
    req.on('close', () => {
      if (!closed) this.logger.debug({ runId, lastSent }, 'the client closed its run stream');
      close();
    });

    const send = (message: RunEventMessage) => {
      if (closed) return;
      if (message.seq === null) {
        res.write(`event: ${message.event.type}\ndata: ${JSON.stringify(message.event)}\n\n`);
        return;
      }
      if (message.seq <= lastSent) return;
      res.write(
        `id: ${message.seq}\nevent: ${message.event.type}\ndata: ${JSON.stringify({ seq: message.seq, ...message.event })}\n\n`,
      );
      lastSent = message.seq;
      // After the terminal event, whatever is already stored (e.g. pull_request.opened) still goes out; then the stream ends.
      if (TERMINAL_EVENT_TYPES.has(message.event.type as EventType)) chain = chain.then(catchUp).then(close);
    };

    const catchUp = async () => {
      for (;;) {
        const page = await this.events.listAfter(runId, lastSent, 500);
        for (const message of page) send(message);
        if (page.length < 500 || closed) return;
      }
    };

    const deliver = (message: RunEventMessage) => {
      chain = chain
        .then(async () => {
          if (closed) return;
          if (message.seq === null) return send(message);
          if (message.seq <= lastSent) return;
          if (message.seq > lastSent + 1) await catchUp();
          if (message.seq === lastSent + 1) send(message);
        })
        .catch((error: unknown) => {
          this.logger.warn({ err: error, runId }, 'run stream failed');
          close();
        });
    };

    try {
      unsubscribe = await this.bus.subscribe(this.events.channel(runId), (message) => {
        if (live) deliver(message);
        else buffered.push(message);
      });
      if (closed) {
        void unsubscribe().catch((error: unknown) => this.logger.debug({ err: error, runId }, 'unsubscribe failed'));
        return;
      }
      await catchUp();
      live = true;
      for (const message of buffered.splice(0)) deliver(message);
      await chain;
      if (!closed) {
        // A run that ended before we subscribed has its terminal event stored; anything else stays open.
        const run = await this.runs.get(runId);
        if (['completed', 'failed', 'cancelled'].includes(run.status)) {
          chain = chain.then(catchUp).then(close);
          await chain;
        }
      }
    } catch (error) {
      this.logger.warn({ err: error, runId }, 'opening a run stream failed');
      close();
    }
  }
}
