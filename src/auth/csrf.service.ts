import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request } from 'express';
import type { AllConfig } from '#src/config/namespaces.js';

export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF tokens bound to the session: the token is an HMAC of the session id under a key derived
 * from JWT_SECRET. Nothing is stored, a token lives exactly as long as its session, and whoever can
 * plant a `csrf_token` cookie (a sibling subdomain, a plain-HTTP hop) still cannot choose a token
 * the server accepts, as it could with a plain double submit. The `csrf_token` cookie only carries
 * the same value to same-host scripts; the check compares the header with the session's token.
 */
@Injectable()
export class CsrfService {
  private readonly key: Buffer;

  constructor(config: ConfigService<AllConfig, true>) {
    // A key of its own, so a CSRF token can never be replayed as any other HMAC this server makes.
    this.key = createHmac('sha256', config.get('secrets', { infer: true }).jwtSecret)
      .update('quorum/csrf/v1')
      .digest();
  }

  /** The CSRF token of a session. */
  tokenFor(sessionId: string): string {
    return createHmac('sha256', this.key).update(sessionId).digest('base64url');
  }

  /** Safe methods pass; an unsafe one needs X-CSRF-Token equal to the session's token. */
  satisfied(req: Request, sessionId: string): boolean {
    if (SAFE_METHODS.has(req.method.toUpperCase())) return true;
    const header = req.headers[CSRF_HEADER];
    if (typeof header !== 'string') return false;
    const presented = Buffer.from(header);
    const expected = Buffer.from(this.tokenFor(sessionId));
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  }
}
