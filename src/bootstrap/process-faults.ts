import type { Logger } from 'pino';

type Fault = 'unhandledRejection' | 'uncaughtException';

export interface ProcessFaultOptions {
  /** How long closing the application may take before the process exits anyway. */
  closeTimeoutMs: number;
  /** For tests: the exit function (default process.exit). */
  exit?: (code: number) => void;
}

/**
 * A promise rejection nobody handled, or an exception nobody caught, leaves the process in a state
 * no code planned for. Node would end it with a bare stack trace on stderr; here the fault is logged
 * as one fatal line with its kind, the error and the process, then the application is closed (jobs
 * released, connections ended, bounded by `closeTimeoutMs`) and the process exits with code 1 for
 * its supervisor to restart it. A second fault while closing is logged and changes nothing.
 */
export function exitOnProcessFaults(
  app: { close(): Promise<void> },
  logger: Logger,
  options: ProcessFaultOptions,
): () => void {
  const exit =
    options.exit ??
    ((code: number) => {
      process.exit(code);
    });
  let closing = false;
  const onFault = (fault: Fault) => (error: unknown) => {
    logger.fatal({ err: error, fault, pid: process.pid, closing }, `${fault}: the process exits`);
    if (closing) return;
    closing = true;
    // Should the loop run dry while closing, the process still ends as failed.
    if (!options.exit) process.exitCode = 1;
    const timer = setTimeout(() => {
      logger.fatal({ fault }, `closing after ${fault} timed out`);
      exit(1);
    }, options.closeTimeoutMs);
    timer.unref();
    // The fatal line reaches the log before closing starts: the destination is asynchronous, and
    // what closing writes (or a supervisor reading the output) must come after it.
    const close = (): void => {
      app.close().then(
        () => exit(1),
        (closeError: unknown) => {
          logger.fatal({ err: closeError, fault }, `closing after ${fault} failed`);
          exit(1);
        },
      );
    };
    try {
      logger.flush(close);
    } catch {
      close();
    }
  };
  const onRejection = onFault('unhandledRejection');
  const onException = onFault('uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
