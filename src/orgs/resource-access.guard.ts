import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError } from '#src/common/errors.js';
import { RouteMetadataCache } from '#src/common/route-metadata.js';
import { principalOf, PrincipalRequest } from '#src/auth/principal.js';
import { ApiKeyNotAllowedError, InsufficientScopeError } from '#src/auth/api-keys/api-keys.errors.js';
import { decideAccess, POLICY, ResourceOwnership } from './access-policy.js';
import type { AuthorizeRule, RequestPath } from './authorize.decorator.js';
import { AUTHORIZE } from './authorize.decorator.js';
import { MembershipsService } from './memberships.service.js';
import type { OrgRole } from './org-roles.js';
import { OrgNotFoundError } from './orgs.errors.js';
import { isUuid, ResourceLocators } from './resource-locators.js';

/** What the guard decided, for the handler: the resource's owner and organization and the caller's role in it. */
export interface AccessGrant extends ResourceOwnership {
  /** The resource's id (absent for a collection). */
  id?: string;
  orgRole: OrgRole | null;
}

type GuardedRequest = PrincipalRequest & {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  access?: AccessGrant;
};

export class OrgRoleRequiredError extends ForbiddenError {
  constructor() {
    super('FORBIDDEN', 'Your role in this organization does not allow this.');
  }
}

function valueAt(req: GuardedRequest, path: RequestPath): unknown {
  const [where, key] = path.split('.', 2) as ['params' | 'query' | 'body', string];
  const source = req[where];
  return source && typeof source === 'object' ? (source as Record<string, unknown>)[key] : undefined;
}

/** Enforces @Authorize(...): looks up the resource's owner and the caller's role, asks the policy. */
@Injectable()
export class ResourceAccessGuard implements CanActivate {
  private readonly rules: RouteMetadataCache<AuthorizeRule | undefined>;

  constructor(
    reflector: Reflector,
    private readonly locators: ResourceLocators,
    private readonly memberships: MembershipsService,
  ) {
    this.rules = new RouteMetadataCache((targets) => reflector.getAllAndOverride<AuthorizeRule>(AUTHORIZE, targets));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.rules.get(context);
    if (!rule || context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<GuardedRequest>();
    const principal = principalOf(req);
    const id = rule.id ? valueAt(req, rule.id) : undefined;
    let grant: AccessGrant;
    if (id !== undefined && id !== '') {
      // A malformed id names no resource, so nothing is granted by letting it through: the route's
      // ParseUUIDPipe answers 400 (or its service 404), as each route did before this guard.
      if (!isUuid(id)) return true;
      const owner = await this.locators.locate(rule.type, id);
      grant = { ...owner, id, orgRole: null };
    } else {
      let orgId = rule.org ? valueAt(req, rule.org) : undefined;
      if ((orgId === undefined || orgId === '') && principal.kind === 'apiKey') orgId = principal.orgId ?? undefined;
      if (orgId !== undefined && orgId !== null && orgId !== '' && !isUuid(orgId)) throw new OrgNotFoundError();
      grant = {
        ownerId: principal.userId,
        orgId: (orgId as string | undefined) ?? null,
        orgRole: null,
        collection: true,
      };
    }
    if (grant.orgId) grant.orgRole = await this.memberships.roleOf(grant.orgId, principal.userId);
    const decision = decideAccess(principal, rule.type, rule.action, grant, grant.orgRole);
    if (!decision.allowed) {
      switch (decision.reason) {
        case 'insufficient_scope':
          throw new InsufficientScopeError(POLICY[rule.type][rule.action]?.key ?? null);
        case 'key_not_allowed':
          throw new ApiKeyNotAllowedError();
        case 'forbidden':
          throw new OrgRoleRequiredError();
        case 'not_found':
          throw grant.id === undefined || rule.type === 'org'
            ? new OrgNotFoundError()
            : this.locators.notFound(rule.type);
      }
    }
    req.access = grant;
    return true;
  }
}

/** `@Access() access: AccessGrant`: what ResourceAccessGuard decided for this request. */
export const Access = createParamDecorator((_data: unknown, context: ExecutionContext): AccessGrant => {
  const access = context.switchToHttp().getRequest<GuardedRequest>().access;
  if (!access) throw new Error('@Access() needs @Authorize(...) on the route');
  return access;
});
