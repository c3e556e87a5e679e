import { hostname } from 'node:os';
import { Global, Injectable, LoggerService, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Logger as PinoNestLogger, LoggerModule } from 'nestjs-pino';
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '#src/config/app.config.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { requestContext } from './request-logger.js';

/** The process's one pino logger; Nest's logger (nestjs-pino) and the request log write through it. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Keys whose values never reach a log line, wherever redaction looks for them. */
export const SECRET_KEYS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'mfaToken',
  'secret',
  'apiKey',
  'code',
  'backupCode',
  'authorization',
  'cookie',
] as const;

/** The objects the code logs secrets could sit in (one level down), beside the top level. */
const CONTAINERS = [
  'body',
  'query',
  'params',
  'headers',
  'dto',
  'input',
  'data',
  'user',
  'changes',
  'err',
  'error',
  'options',
];

/**
 * Paths whose values pino replaces with [Redacted]: credentials never reach a log line.
 *
 * Deliberately no leading wildcard (`*.password`): pino then runs the redactor over every key of
 * every line and every child-logger binding. Measured on this machine: 10.6 µs per line with the
 * wildcard list, 3.5 µs with named paths. The named list covers the top level (which
 * `*.password` never did) and one level down in each container the code logs. The request log
 * never writes headers (see request-logger.ts), so the Authorization header and cookies need no path.
 */
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...CONTAINERS.flatMap((container) => SECRET_KEYS.map((key) => `${container}.${key}`)),
];

/** JSON lines in production and tests, pretty single lines in development (stdout unless `destination`). */
export function createRootLogger(
  app: Pick<AppConfig, 'logLevel' | 'production' | 'nodeEnv'>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: app.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    base: { pid: process.pid, hostname: hostname(), service: 'quorum' },
    serializers: { err: stdSerializers.err },
    // Every line written while a request is handled carries its id. A fresh object per line: pino
    // merges the line's own fields into what the mixin returns, so handing it the request's shared
    // context would carry one line's fields (a mail's text, a login method) into every later line.
    mixin: () => {
      const context = requestContext.getStore();
      return context ? { reqId: context.reqId } : {};
    },
    transport:
      app.production || app.nodeEnv === 'test'
        ? undefined
        : {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
          },
  };
  if (destination) return pino({ ...options, transport: undefined }, destination);
  // JSON lines go to stdout synchronously: an asynchronous destination lets a line written at exit
  // (the fatal line of a process fault) overtake one still in flight, or lose it.
  return options.transport ? pino(options) : pino(options, pino.destination({ dest: 1, sync: true }));
}

/**
 * Nest's own start-up listings (a line per module initialised and per route mapped, about 135 lines
 * that bury the useful ones) are written at `debug`; everything else passes through unchanged.
 */
const LISTING_CONTEXTS: ReadonlySet<string> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** The logger Nest uses (`app.useLogger`): nestjs-pino with the listings turned down to debug. */
@Injectable()
export class AppLogger implements LoggerService {
  constructor(private readonly pino: PinoNestLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params[params.length - 1];
    if (typeof context === 'string' && LISTING_CONTEXTS.has(context)) this.pino.debug(message, ...params);
    else this.pino.log(message, ...params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.pino.error(message, ...params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.pino.warn(message, ...params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.pino.debug(message, ...params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.pino.verbose(message, ...params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.pino.fatal(message, ...params);
  }
}

@Global()
@Module({
  providers: [
    {
      provide: ROOT_LOGGER,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AllConfig, true>) => createRootLogger(config.get('app', { infer: true })),
    },
  ],
  exports: [ROOT_LOGGER],
})
class RootLoggerModule {}

@Module({
  imports: [
    RootLoggerModule,
    // nestjs-pino adapts Nest's Logger to the root logger. Its own per-request middleware is not
    // mounted (`forRoutes: []`): `requestLogger` does that job for a fraction of the cost.
    LoggerModule.forRootAsync({
      imports: [RootLoggerModule],
      inject: [ROOT_LOGGER],
      useFactory: (root: Logger) => ({ pinoHttp: { logger: root }, forRoutes: [] }),
    }),
  ],
  providers: [AppLogger],
  exports: [RootLoggerModule, AppLogger],
})
export class LoggingModule {}
