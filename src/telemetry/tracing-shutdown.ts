import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { shutdownTracing } from './tracing.js';

/**
 * Flushes and stops OpenTelemetry when the application closes (SIGTERM, a fatal fault, `app.close()`):
 * shutdown hooks run after the destroy hooks (runs handed over, consumers stopped) and after the HTTP
 * server has stopped, so the spans of the last requests and runs are exported before the process
 * exits. Nothing to do when tracing is off.
 */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await shutdownTracing();
  }
}
