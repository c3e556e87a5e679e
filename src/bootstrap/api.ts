import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger as PinoRoot } from 'pino';
import { AppModule } from '#src/app.module.js';
import { ROOT_LOGGER } from '#src/logging/logging.module.js';
import { appConfig } from '#src/config/app.config.js';
import { untracedProbesOn } from '#src/telemetry/tracing.js';
import { configureHttpApp } from './configure-http-app.js';
import { allowedOrigins, describeCors } from './cors.js';
import { exitOnProcessFaults } from './process-faults.js';
import { closeOnSignals } from './run.js';

/** The HTTP API (with the job consumers in-process unless WORKER_IN_PROCESS=false). */
export async function startApi(): Promise<void> {
  const settings = appConfig();
  const app = await NestFactory.create<NestExpressApplication>(
    await AppModule.register({ workerInProcess: settings.workerInProcess }),
    { bufferLogs: true, bodyParser: false, abortOnError: false },
  );
  configureHttpApp(app);
  untracedProbesOn(app.getHttpServer());
  closeOnSignals(app, (message) => Logger.log(message, 'Shutdown'));
  exitOnProcessFaults(app, app.get<PinoRoot>(ROOT_LOGGER), { closeTimeoutMs: settings.shutdownTimeoutMs });
  await app.listen(settings.port, settings.host);
  if (!settings.workerInProcess)
    Logger.log(
      'This process hosts no job consumers (WORKER_IN_PROCESS=false): runs stay queued until a worker runs; start one with `npm run start:worker`',
      'Bootstrap',
    );
  Logger.log(
    `Quorum API listening on ${settings.publicUrl} (docs ${settings.publicUrl}/api/docs)` +
      (settings.workerInProcess ? ' with the worker in-process' : ''),
    'Bootstrap',
  );
  Logger.log(describeCors(allowedOrigins(settings)), 'Bootstrap');
}
