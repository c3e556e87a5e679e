import 'reflect-metadata';
import { dieOnStartupError, preflight } from './bootstrap/run.js';

// Configuration and the servers are checked before the application's module graph is even loaded,
// so a bad value or a missing server is reported at once.
async function bootstrap(): Promise<void> {
  await preflight({ api: true });
  const { startApi } = await import('./bootstrap/api.js');
  await startApi();
}

bootstrap().catch(dieOnStartupError);
