import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response } from 'express';
import { refuseNonJsonBodies } from '#src/common/json-only.middleware.js';
import { refuseUnsafeInput } from '#src/common/unsafe-input.middleware.js';

export type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Express middlewares run one after the other as one: what an `app.use` of each would do (an error,
 * passed on or thrown, skips the rest and goes to `next`), without a router layer each. Every layer
 * costs a path match, a prefix trim and a `next` closure on every request, whether it has work to do
 * or not.
 */
export function series(...steps: Middleware[]): Middleware {
  return (req, res, next) => {
    let index = 0;
    const step = (error?: unknown): void => {
      if (error || index === steps.length) return next(error);
      const current = steps[index++];
      try {
        current(req, res, step);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}

/** body-parser's own test (type-is `hasBody`): a body is announced by Transfer-Encoding or a numeric Content-Length. */
function announcesBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number(req.headers['content-length']));
}

export interface RequestInputOptions {
  /** The JSON API's paths: a body there is JSON or is refused with 415. */
  isApi: (url: string) => boolean;
  /** The mail-link pages: they post HTML forms (urlencoded), whatever the API's JSON routes accept. */
  isFormPage: (url: string) => boolean;
  bodyLimit: string;
  /** Runs last, e.g. the CORS preflight check. */
  then?: Middleware;
}

/**
 * What a request's input goes through before Nest sees it, in this order: cookies; the body (JSON,
 * plus forms on the mail-link pages; any other type on an API route is 415 before it is read); then
 * body, query and path are checked for what no route can take (too deep, prototype keys, NUL).
 * A request that announces no body (GETs, probes) skips the body steps, which would each find
 * nothing to do.
 */
export function requestInput(options: RequestInputOptions): Middleware {
  const json = express.json({ limit: options.bodyLimit });
  const apiBody = series(refuseNonJsonBodies, json);
  const formBody = series(express.urlencoded({ limit: '16kb', extended: false }), json);
  const body: Middleware = (req, res, next) => {
    // `req.body` stays undefined, as body-parser leaves it when there is nothing to read.
    if (!announcesBody(req)) return next();
    if (options.isApi(req.url)) return apiBody(req, res, next);
    if (options.isFormPage(req.url)) return formBody(req, res, next);
    json(req, res, next);
  };
  return series(cookieParser(), body, refuseUnsafeInput, ...(options.then ? [options.then] : []));
}
