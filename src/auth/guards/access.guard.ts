import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from '#src/common/errors.js';
import { RouteMetadataCache } from '#src/common/route-metadata.js';
import type { AuthUser } from '../auth-user.js';
import { EmailNotVerifiedError, InsufficientRoleError } from '../auth.errors.js';
import { REQUIRE_VERIFIED_EMAIL } from '../decorators/require-verified-email.decorator.js';
import { ROLES } from '../decorators/roles.decorator.js';

/** Runs after JwtAuthGuard: @Roles(...) and @RequireVerifiedEmail() on the signed-in user. */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly rules: RouteMetadataCache<{ roles: AuthUser['role'][]; requireVerified: boolean }>;

  constructor(reflector: Reflector) {
    this.rules = new RouteMetadataCache((targets) => ({
      roles: reflector.getAllAndOverride<AuthUser['role'][] | undefined>(ROLES, targets) ?? [],
      requireVerified: reflector.getAllAndOverride<boolean | undefined>(REQUIRE_VERIFIED_EMAIL, targets) === true,
    }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const { roles, requireVerified } = this.rules.get(context);
    if (!roles.length && !requireVerified) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (!user) throw new UnauthorizedError();
    if (roles.length && !roles.includes(user.role)) throw new InsufficientRoleError();
    if (requireVerified && !user.emailVerified) throw new EmailNotVerifiedError();
    return true;
  }
}
