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

// Only loading tracing or the start-up code itself can fail here, before any logger exists.
bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `quorum: could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
