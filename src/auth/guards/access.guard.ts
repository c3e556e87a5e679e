import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from '#src/common/errors.js';
import { RouteMetadataCache } from '#src/common/route-metadata.js';
import { AUTHORIZE } from '#src/orgs/authorize.decorator.js';
import type { ApiKeyScope } from '../api-keys/api-key-scopes.js';
import { ApiKeyNotAllowedError, InsufficientScopeError } from '../api-keys/api-keys.errors.js';
import type { AuthUser } from '../auth-user.js';
import { EmailNotVerifiedError, InsufficientRoleError } from '../auth.errors.js';
import { API_KEY_ACCESS } from '../decorators/api-key-access.decorator.js';
import type { ApiKeyAccess } from '../decorators/api-key-access.decorator.js';
import { REQUIRE_VERIFIED_EMAIL } from '../decorators/require-verified-email.decorator.js';
import { ROLES } from '../decorators/roles.decorator.js';

const READ_METHODS = new Set(['GET', 'HEAD']);

interface RouteRules {
  roles: AuthUser['role'][];
  requireVerified: boolean;
  /** `policy`: an @Authorize(...) route, whose access policy decides what a key needs. */
  apiKey: ApiKeyAccess | { kind: 'policy' } | undefined;
}

/**
 * Runs after JwtAuthGuard: @Roles(...) and @RequireVerifiedEmail() on the signed-in user, and for
 * a request made with an API key, the route's key access (@KeyScope, @AnyApiKey, @AccountRoute;
 * a route that declares none refuses keys).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly rules: RouteMetadataCache<RouteRules>;

  constructor(reflector: Reflector) {
    this.rules = new RouteMetadataCache((targets) => ({
      roles: reflector.getAllAndOverride<AuthUser['role'][] | undefined>(ROLES, targets) ?? [],
      requireVerified: reflector.getAllAndOverride<boolean | undefined>(REQUIRE_VERIFIED_EMAIL, targets) === true,
      apiKey:
        reflector.getAllAndOverride<ApiKeyAccess | undefined>(API_KEY_ACCESS, targets) ??
        (reflector.getAllAndOverride<unknown>(AUTHORIZE, targets) ? { kind: 'policy' as const } : undefined),
    }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const { roles, requireVerified, apiKey } = this.rules.get(context);
    const request = context.switchToHttp().getRequest<{ user?: AuthUser; method: string }>();
    const user = request.user;
    if (user?.apiKey) checkApiKey(user.apiKey.scopes, apiKey, request.method);
    if (!roles.length && !requireVerified) return true;
    if (!user) throw new UnauthorizedError();
    if (roles.length && !roles.includes(user.role)) throw new InsufficientRoleError();
    if (requireVerified && !user.emailVerified) throw new EmailNotVerifiedError();
    return true;
  }
}

function checkApiKey(scopes: readonly ApiKeyScope[], access: RouteRules['apiKey'], method: string): void {
  if (!access) throw new InsufficientScopeError(null);
  if (access.kind === 'any' || access.kind === 'policy') return;
  if (access.kind === 'account') throw new ApiKeyNotAllowedError();
  const required =
    `${access.resource}:${access.access ?? (READ_METHODS.has(method) ? 'read' : 'write')}` as ApiKeyScope;
  if (!scopes.includes(required)) throw new InsufficientScopeError(required);
}
