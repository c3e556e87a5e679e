import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from '#src/common/errors.js';
import type { AuthUser } from '../auth-user.js';
import { EmailNotVerifiedError, InsufficientRoleError } from '../auth.errors.js';
import { REQUIRE_VERIFIED_EMAIL } from '../decorators/require-verified-email.decorator.js';
import { ROLES } from '../decorators/roles.decorator.js';

/** Runs after JwtAuthGuard: @Roles(...) and @RequireVerifiedEmail() on the signed-in user. */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    const roles = this.reflector.getAllAndOverride<AuthUser['role'][] | undefined>(ROLES, targets);
    const requireVerified = this.reflector.getAllAndOverride<boolean | undefined>(REQUIRE_VERIFIED_EMAIL, targets);
    if (!roles?.length && !requireVerified) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (!user) throw new UnauthorizedError();
    if (roles?.length && !roles.includes(user.role)) throw new InsufficientRoleError();
    if (requireVerified && !user.emailVerified) throw new EmailNotVerifiedError();
    return true;
  }
}
