import type { INestApplication } from '@nestjs/common';
import { NotFoundException, RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Logger as PinoRoot } from 'pino';
import { AppLogger, ROOT_LOGGER } from '#src/logging/logging.module.js';
import { requestLogger } from '#src/logging/request-logger.js';
import { fixedHeaders } from '#src/common/fixed-headers.js';
import { createValidationPipe } from '#src/common/validation.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { startRequestClock } from '#src/metrics/http-metrics.middleware.js';
import { EMAIL_PAGE_PATHS } from '#src/auth/email-pages.controller.js';
import { QUEUE_DASHBOARD_PATH } from '#src/queue-dashboard/queue-dashboard.access.js';
import { allowedOrigins, configureCors, refuseOtherOriginsPreflight } from './cors.js';
import { DOCS_PATH, setupOpenApi } from './openapi.js';
import { requestInput } from './request-input.js';

export const API_PREFIX = 'api/v1';

/** Whether `url` (path and query) falls under `mount` the way an Express mount point matches. */
function isUnder(url: string, mount: string): boolean {
  if (!url.startsWith(mount)) return false;
  const next = url.charAt(mount.length);
  return next === '' || next === '/' || next === '?';
}

/** Routes served outside the API prefix: Prometheus' `/metrics`, the OAuth callbacks, the mail-link pages, the queue dashboard. */
export const ROOT_ROUTES = [
  { path: 'metrics', method: RequestMethod.GET },
  { path: 'oauth/*path', method: RequestMethod.ALL },
  ...EMAIL_PAGE_PATHS.map((path) => ({ path, method: RequestMethod.ALL })),
  { path: QUEUE_DASHBOARD_PATH, method: RequestMethod.ALL },
  { path: `${QUEUE_DASHBOARD_PATH}/*path`, method: RequestMethod.ALL },
];

/** `GET /`: nothing lives there, so say where things are instead of a bare 404. */
const ROOT_INDEX = JSON.stringify({
  name: 'Quorum API',
  message: 'The API is under /api/v1; its documentation is at /api/docs (OpenAPI JSON at /api/docs-json).',
  docs: '/api/docs',
  openapi: '/api/docs-json',
  api: '/api/v1',
  health: '/api/v1/health/ready',
});

/** The mail-link pages' mount points. */
const EMAIL_PAGE_MOUNTS = EMAIL_PAGE_PATHS.map((path) => `/${path}`);

/** Where each root route is mounted, and whether it takes everything below (`*path`). */
const ROOT_MOUNTS = ROOT_ROUTES.map(({ path }) => ({
  mount: `/${path.replace(/\/\*path$/, '')}`,
  subtree: path.endsWith('/*path'),
}));

/** Whether anything is served at this URL: the API prefix or a root route. The docs are checked before this. */
export function isServedPath(url: string): boolean {
  return (
    isUnder(url, `/${API_PREFIX}`) ||
    ROOT_MOUNTS.some(({ mount, subtree }) => (subtree ? url.startsWith(`${mount}/`) : isUnder(url, mount)))
  );
}

/**
 * Everything the HTTP app needs beyond its modules, shared by `main.ts` and the e2e tests so that
 * the tests exercise exactly what production serves.
 */
export function configureHttpApp(app: NestExpressApplication): INestApplication {
  const config = app.get(ConfigService<AllConfig, true>);
  const settings = config.get('app', { infer: true });
  app.useLogger(app.get(AppLogger));
  app.disable('x-powered-by');
  if (settings.trustProxy) app.set('trust proxy', true);
  // The JSON API and the Swagger UI page need different headers: the API gets only what matters
  // for JSON (OWASP REST Security Cheat Sheet), the docs page helmet's HTML set with its scripts.
  // Constant headers, worked out once from helmet's configuration (see fixedHeaders).
  const apiHeaders = fixedHeaders(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      xFrameOptions: { action: 'deny' },
      hsts: settings.production,
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  );
  const docsHeaders = helmet({
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] },
    },
    hsts: settings.production,
  });
  const docs = setupOpenApi(app);
  // Nest answers unknown paths with a problem only under the API prefix; anything else would reach
  // Express's HTML "Cannot GET". Paths nothing serves are turned away here, before any parsing.
  const notFound = (req: Request) => new NotFoundException(`Cannot ${req.method} ${req.path}`);
  const origins = allowedOrigins(settings);
  // Cookies, body, and the checks of what was sent: 415 for a body that is not JSON, 400 for input
  // no route can take (too deep, prototype keys, NUL) before guards, pipes and class-transformer;
  // then the CORS preflight check.
  const input = requestInput({
    isApi: (url) => isUnder(url, `/${API_PREFIX}`),
    isFormPage: (url) => EMAIL_PAGE_MOUNTS.some((mount) => isUnder(url, mount)),
    bodyLimit: settings.bodyLimit,
    then: refuseOtherOriginsPreflight(origins),
  });
  // The first Express layer, for every request: request id and access log (the rest runs inside
  // the request's logging context), the metrics clock, headers by kind of path, then the input.
  // One layer: each further `app.use` would cost a path match and a call on every request.
  const front = (req: Request, res: Response, next: NextFunction) => {
    startRequestClock(req);
    if (req.url.startsWith(`/${DOCS_PATH}`)) {
      return docsHeaders(req, res, (error?: unknown) =>
        error ? next(error) : docs(req, res, (miss?: unknown) => next(miss ?? notFound(req))),
      );
    }
    // Answers carry account data and tokens: no cache keeps them (routes may set their own policy).
    res.setHeader('Cache-Control', 'no-store');
    for (const [name, value] of apiHeaders) res.setHeader(name, value);
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.url === '/' || req.url.startsWith('/?'))) {
      res.status(200).type('json').send(ROOT_INDEX);
      return;
    }
    if (!isServedPath(req.url)) return next(notFound(req));
    input(req, res, next);
  };
  app.use(requestLogger(app.get<PinoRoot>(ROOT_LOGGER), front));
  // With `no-store` no client revalidates, so hashing every response body for an ETag is waste.
  app.set('etag', false);
  configureCors(app, origins);
  app.setGlobalPrefix(API_PREFIX, { exclude: ROOT_ROUTES });
  app.useGlobalPipes(createValidationPipe());
  return app;
}
