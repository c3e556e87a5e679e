import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '#src/common/errors.js';
import type { AppConfig } from '#src/config/app.config.js';

/** Response headers a browser app reads: the request id, when to retry, where a created thing lives. */
export const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'Location'];

/**
 * The origins allowed to call the API from a browser: CORS_ORIGINS when set; otherwise, outside
 * production, the origin of WEB_APP_URL (`http://localhost:5173` by default), so a local app works
 * without configuration. Production without CORS_ORIGINS grants no cross-origin access.
 */
export function allowedOrigins(settings: Pick<AppConfig, 'corsOrigins' | 'production' | 'webAppUrl'>): string[] {
  if (settings.corsOrigins.length > 0) return settings.corsOrigins.map((origin) => origin.replace(/\/$/, ''));
  return settings.production ? [] : [new URL(settings.webAppUrl).origin];
}

/** One line for the start-up log. */
export function describeCors(origins: readonly string[]): string {
  return origins.length > 0
    ? `CORS: browser apps on ${origins.join(', ')} may call this API (CORS_ORIGINS)`
    : 'CORS: no cross-origin access (set CORS_ORIGINS to the web app origin)';
}

export class CorsOriginNotAllowedError extends DomainError {
  constructor(origin: string, allowed: readonly string[]) {
    super(
      'CORS_ORIGIN_NOT_ALLOWED',
      `The origin ${origin} may not call this API from a browser: add it to CORS_ORIGINS (comma-separated)` +
        (allowed.length > 0 ? `; allowed now: ${allowed.join(', ')}.` : '; none is allowed now.'),
      403,
    );
  }
}

/**
 * A preflight from an origin that is not allowed is answered 403 with a problem naming
 * CORS_ORIGINS, rather than the 405 or bare refusal a developer would have to guess from. Runs
 * before the CORS middleware (`configureCors`).
 */
export function refuseOtherOriginsPreflight(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    next(preflight && origin && !allowed.has(origin) ? new CorsOriginNotAllowedError(origin, origins) : undefined);
  };
}

/** Cross-origin access for the allowed origins, with credentials (cookie mode); none when none is allowed. */
export function configureCors(app: NestExpressApplication, origins: readonly string[]): void {
  if (origins.length === 0) return;
  app.enableCors({ origin: [...new Set(origins)], credentials: true, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 });
}
