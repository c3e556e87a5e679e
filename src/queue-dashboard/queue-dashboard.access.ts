import type { NextFunction, Request, Response } from 'express';
import type { AuthUser } from '#src/auth/auth-user.js';
import { ForbiddenError, NotFoundError } from '#src/common/errors.js';

export const QUEUE_DASHBOARD_PATH = 'admin/queues';

/** The board is an HTML page with its own scripts and styles, unlike the JSON API's `default-src 'none'`. */
const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'";
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Admits admins signed in as people (Bearer access token, or the cookie session with its CSRF
 * check on unsafe methods); API keys, other users and anonymous callers get the 404 of a path that
 * does not exist. Without QUEUE_DASHBOARD_ACTIONS nothing but reading passes, whatever the UI offers.
 */
export function queueDashboardAccess(authenticate: (req: Request) => Promise<AuthUser>, actions: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    authenticate(req).then(
      (user) => {
        if (user.role !== 'admin' || user.apiKey) return next(new NotFoundError());
        if (!actions && !READ_METHODS.has(req.method))
          return next(
            new ForbiddenError(
              'QUEUE_DASHBOARD_READ_ONLY',
              'The queue dashboard is read-only (QUEUE_DASHBOARD_ACTIONS).',
            ),
          );
        res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
        next();
      },
      () => next(new NotFoundError()),
    );
  };
}
