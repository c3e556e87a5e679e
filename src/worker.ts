import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { closeOnSignals, dieOnStartupError, preflight } from './bootstrap/run.js';
import { WorkerModule } from './worker.module.js';

async function bootstrap(): Promise<void> {
  await preflight();
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(PinoLogger));
  closeOnSignals(app, (message) => Logger.log(message, 'Shutdown'));
  await app.init();
  Logger.log('Quorum worker consuming jobs', 'Bootstrap');
}

bootstrap().catch(dieOnStartupError);
