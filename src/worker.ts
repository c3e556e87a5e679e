import 'reflect-metadata';
import { startTracing } from './telemetry/tracing.js';

// Tracing (when configured) starts before anything it instruments is loaded; configuration and the
// servers are checked before the application's module graph is even loaded.
async function bootstrap(): Promise<void> {
  await startTracing('worker');
  const { dieOnStartupError, preflight } = await import('./bootstrap/run.js');
  try {
    await preflight();
    const { startWorker } = await import('./bootstrap/worker-process.js');
    await startWorker();
  } catch (error) {
    dieOnStartupError(error);
  }
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
