import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from '#src/worker.module.js';
import type { Logger as PinoRoot } from 'pino';
import { appConfig } from '#src/config/app.config.js';
import { AppLogger, ROOT_LOGGER } from '#src/logging/logging.module.js';
import { exitOnProcessFaults } from './process-faults.js';
import { closeOnSignals } from './run.js';

/** The worker: an application context without HTTP, consuming the job queues. */
export async function startWorker(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(AppLogger));
  closeOnSignals(app, (message) => Logger.log(message, 'Shutdown'));
  exitOnProcessFaults(app, app.get<PinoRoot>(ROOT_LOGGER), { closeTimeoutMs: appConfig().shutdownTimeoutMs });
  await app.init();
  Logger.log('Quorum worker consuming jobs', 'Bootstrap');
}
