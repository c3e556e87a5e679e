import 'reflect-metadata';
import { dieOnStartupError, preflight } from './bootstrap/run.js';

// Configuration and the servers are checked before the application's module graph is even loaded.
async function bootstrap(): Promise<void> {
  await preflight();
  const { startWorker } = await import('./bootstrap/worker-process.js');
  await startWorker();
}

bootstrap().catch(dieOnStartupError);
