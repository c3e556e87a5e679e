import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What every log line written while a request is handled carries (see the root logger's mixin). */
export interface RequestContext {
  readonly reqId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/** Query parameters whose values are replaced in logged URLs (OAuth codes, e-mailed tokens, …). */
const SECRET_QUERY = /^(code|state|token|access_token|refresh_token|id_token|secret|password|api_?key|signature|sig)$/i;

/** The URL as logged: path and query, with the values of credential-like parameters redacted. */
export function loggableUrl(url: string | undefined): string | undefined {
  const mark = url?.indexOf('?') ?? -1;
  if (url === undefined || mark < 0) return url;
  const query = url
    .slice(mark + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      let name = pair.slice(0, equals);
      try {
        name = decodeURIComponent(name);
      } catch {
        // a malformed escape: judge the raw name
      }
      return SECRET_QUERY.test(name) ? `${pair.slice(0, equals)}=[Redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, mark)}?${query}`;
}

/** The client's `X-Request-Id` when it is a safe token, else a new UUID; echoed on the response. */
export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Health probes are polled every few seconds by orchestrators: no access-log line for them. */
const quiet = (url: string) => url.startsWith('/api/v1/health');

type Middleware = (req: Request, res: Response, next: NextFunction) => void;
const passOn: Middleware = (_req, _res, next) => next();

/**
 * The request id and the access log, as the first Express middleware: the id goes on the
 * response and into `requestContext` for every line logged while the request runs; when the
 * response is done (or the client went away) one line records method, URL, status and time.
 * `then` runs inside the request's context, in the same Express layer: every layer costs a path
 * match and a call on each request, so the few things every request needs first share this one.
 *
 * Why not pino-http behind nestjs-pino's middleware: that pair made a child logger per request and
 * ran through two Nest middleware proxies mounted on three paths; on the liveness route it was
 * about a third of the process's CPU per request (measured, see bench/results.md). Here a request
 * costs one AsyncLocalStorage context and one `close` listener; lines are written only when their
 * level is enabled.
 */
export function requestLogger(root: Logger, then: Middleware = passOn): Middleware {
  return (req, res, next) => {
    const reqId = requestIdFor(req, res);
    (req as Request & { id: string }).id = reqId;
    if (!quiet(req.url)) {
      const started = performance.now();
      res.once('close', () => {
        const status = res.statusCode;
        const level = !res.writableFinished ? 'warn' : status >= 500 ? 'error' : 'info';
        if (!root.isLevelEnabled(level)) return;
        const line = {
          reqId,
          req: { method: req.method, url: loggableUrl(req.originalUrl) },
          res: { statusCode: status },
          responseTime: Math.round(performance.now() - started),
        };
        root[level](line, res.writableFinished ? 'request completed' : 'request aborted by the client');
      });
    }
    requestContext.run({ reqId }, then, req, res, next);
  };
}
