import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { IS_PUBLIC } from '#src/common/decorators/public.decorator.js';
import { UnauthorizedError } from '#src/common/errors.js';
import { RouteMetadataCache } from '#src/common/route-metadata.js';
import type { AuthUser } from '../auth-user.js';
import { AccountDisabledError, CsrfError, SessionRevokedError } from '../auth.errors.js';
import { ACCESS_COOKIE, bearerToken, cookie } from '../auth-cookies.js';
import { CsrfService } from '../csrf.service.js';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import { isApiKeyToken } from '../api-keys/api-key-scopes.js';
import { SessionsService } from '../sessions.service.js';
import { TokensService } from '../tokens.service.js';
import { PrincipalRequest, principalFromUser } from '../principal.js';

/**
 * The global authentication guard: every route needs a valid access token (Bearer header, or the
 * access_token cookie plus the CSRF double submit on unsafe methods) or an API key (`Bearer qk_…`)
 * unless it is @Public(). The
 * session and the user are checked on every request, so a revoked session or a deactivated user
 * stops working at once, not when the access token expires.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadataCache<boolean>;

  constructor(
    reflector: Reflector,
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
    private readonly apiKeys: ApiKeysService,
    private readonly csrf: CsrfService,
  ) {
    this.isPublic = new RouteMetadataCache(
      (targets) => reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
    );
  }

  /** Synchronous for public routes: no promise for the guard chain to wait on. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http' || this.isPublic.get(context)) return true;
    return this.signIn(context.switchToHttp().getRequest<Request & PrincipalRequest>());
  }

  private async signIn(req: Request & PrincipalRequest): Promise<boolean> {
    req.user = await this.authenticate(req);
    req.principal = principalFromUser(req.user);
    return true;
  }

  /** The signed-in user of a request (Bearer, or cookie + CSRF on unsafe methods), or a 401/403. */
  async authenticate(req: Request): Promise<AuthUser> {
    const bearer = bearerToken(req);
    if (bearer && isApiKeyToken(bearer)) return this.apiKeys.authenticate(bearer);
    const token = bearer ?? cookie(req, ACCESS_COOKIE);
    if (!token) {
      const header = req.headers.authorization;
      // A header in another shape (a bare token, Basic, "Token …") is a client mistake worth naming.
      if (typeof header === 'string' && header.trim().length > 0)
        throw new UnauthorizedError(
          'UNAUTHENTICATED',
          `The Authorization header must be "Bearer <access token or API key>"; this one ${
            /^\S+\s+\S/.test(header.trim())
              ? `uses the scheme "${header.trim().split(/\s+/)[0].slice(0, 20)}"`
              : 'has no scheme'
          }.`,
        );
      throw new UnauthorizedError();
    }
    const claims = this.tokens.verifyAccess(token);
    const state = await this.sessions.state(claims.sub, claims.sid);
    if (!state || !state.sessionActive) throw new SessionRevokedError();
    if (!state.isActive) throw new AccountDisabledError();
    // Bearer requests cannot be forged cross-site; cookie requests must present their session's
    // CSRF token, which only a client that signed in (or asked GET /auth/csrf) was given.
    if (!bearer && !this.csrf.satisfied(req, claims.sid)) throw new CsrfError();
    return {
      id: claims.sub,
      email: state.email,
      role: state.role,
      emailVerified: state.emailVerified,
      sessionId: claims.sid,
      stateGen: state.gen,
    };
  }
}
