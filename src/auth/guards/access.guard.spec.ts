import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthUser } from '../auth-user.js';
import { AccountRoute, AnyApiKey, KeyScope } from '../decorators/api-key-access.decorator.js';
import { RequireVerifiedEmail } from '../decorators/require-verified-email.decorator.js';
import { Roles } from '../decorators/roles.decorator.js';
import { AccessGuard } from './access.guard.js';

class Routes {
  @RequireVerifiedEmail()
  verified() {}

  @Roles('admin')
  admin() {}

  open() {}

  @KeyScope('tasks')
  tasks() {}

  @KeyScope('runs', 'write')
  execute() {}

  @AnyApiKey()
  me() {}

  @AccountRoute()
  account() {}
}

function context(handler: keyof Routes, user?: Partial<AuthUser>, method = 'GET'): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => ({ user, method }) }),
  } as unknown as ExecutionContext;
}

describe('AccessGuard', () => {
  const guard = new AccessGuard(new Reflector());
  const user: AuthUser = { id: 'u', email: 'a@b.c', role: 'user', emailVerified: false, sessionId: 's' };

  it('RequireVerifiedEmail: 403 EMAIL_NOT_VERIFIED for an unverified user, passes a verified one', () => {
    expect(() => guard.canActivate(context('verified', user))).toThrow(
      expect.objectContaining({ code: 'EMAIL_NOT_VERIFIED', status: 403 }),
    );
    expect(guard.canActivate(context('verified', { ...user, emailVerified: true }))).toBe(true);
  });

  it('Roles: 403 for another role, passes the named one', () => {
    expect(() => guard.canActivate(context('admin', user))).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN', status: 403 }),
    );
    expect(guard.canActivate(context('admin', { ...user, role: 'admin' }))).toBe(true);
  });

  it('routes without either decorator pass; decorated ones without a user are 401', () => {
    expect(guard.canActivate(context('open', user))).toBe(true);
    expect(() => guard.canActivate(context('verified'))).toThrow(expect.objectContaining({ status: 401 }));
  });

  it('API keys: the method picks read or write, a fixed access wins, undeclared and account routes refuse keys', () => {
    const keyUser = { ...user, apiKey: { id: 'k', scopes: ['tasks:read'] as const, orgId: null } };
    expect(guard.canActivate(context('tasks', keyUser, 'GET'))).toBe(true);
    expect(() => guard.canActivate(context('tasks', keyUser, 'POST'))).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_SCOPE', status: 403 }),
    );
    expect(() => guard.canActivate(context('execute', keyUser, 'POST'))).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_SCOPE' }),
    );
    expect(guard.canActivate(context('me', keyUser))).toBe(true);
    expect(() => guard.canActivate(context('open', keyUser))).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_SCOPE' }),
    );
    expect(() => guard.canActivate(context('account', keyUser))).toThrow(
      expect.objectContaining({ code: 'API_KEY_NOT_ALLOWED', status: 403 }),
    );
    // A session is not limited by key metadata.
    expect(guard.canActivate(context('account', user, 'POST'))).toBe(true);
  });
});
