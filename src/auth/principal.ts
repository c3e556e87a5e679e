import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { UnauthorizedError } from '#src/common/errors.js';
import type { ApiKeyScope } from './api-keys/api-key-scopes.js';
import type { AuthUser } from './auth-user.js';

/** A signed-in user: an access JWT (Bearer or cookie) of one session. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  role: AuthUser['role'];
  sessionId: string;
}

/** A script or CI job calling with an API key (`qk_…`) on behalf of the key's owner. */
export interface ApiKeyPrincipal {
  kind: 'apiKey';
  keyId: string;
  /** The key's owner: the key acts as this user, narrowed by its scopes and organization. */
  userId: string;
  role: AuthUser['role'];
  scopes: readonly ApiKeyScope[];
  /** A key bound to an organization reaches only that organization's resources. */
  orgId: string | null;
}

/** Who is calling. Every access decision (src/orgs/access-policy.ts) is made on this. */
export type Principal = UserPrincipal | ApiKeyPrincipal;

export interface PrincipalRequest {
  user?: AuthUser;
  principal?: Principal;
}

/** The principal of an authenticated request (the auth guard sets it; derived from the AuthUser otherwise). */
export function principalOf(req: PrincipalRequest): Principal {
  if (req.principal) return req.principal;
  if (!req.user) throw new UnauthorizedError();
  return principalFromUser(req.user);
}

/** A session user, or, when the request carried an API key, the key acting for its owner. */
export function principalFromUser(user: AuthUser): Principal {
  if (user.apiKey) {
    return {
      kind: 'apiKey',
      keyId: user.apiKey.id,
      userId: user.id,
      role: user.role,
      scopes: user.apiKey.scopes,
      orgId: user.apiKey.orgId,
    };
  }
  return { kind: 'user', userId: user.id, role: user.role, sessionId: user.sessionId };
}

/** `@CurrentPrincipal() principal: Principal` in a controller. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal =>
  principalOf(context.switchToHttp().getRequest<PrincipalRequest>()),
);
