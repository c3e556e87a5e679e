import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { configureHttpApp } from './bootstrap/configure-http-app.js';
import { closeOnSignals, dieOnStartupError, preflight } from './bootstrap/run.js';
import { appConfig } from './config/app.config.js';

async function bootstrap(): Promise<void> {
  await preflight();
  const settings = appConfig();
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.register({ workerInProcess: settings.workerInProcess }),
    { bufferLogs: true, bodyParser: false, abortOnError: false },
  );
  configureHttpApp(app);
  closeOnSignals(app, (message) => Logger.log(message, 'Shutdown'));
  await app.listen(settings.port, settings.host);
  Logger.log(
    `Quorum API on ${settings.publicUrl} (docs ${settings.publicUrl}/api/docs)` +
      (settings.workerInProcess ? ' with the worker in-process' : ''),
    'Bootstrap',
  );
}

bootstrap().catch(dieOnStartupError);
