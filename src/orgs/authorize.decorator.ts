import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import type { AccessAction, ResourceType } from './access-policy.js';
import { ResourceAccessGuard } from './resource-access.guard.js';

/** Where in the request a value is: `params.id`, `query.taskId`, `body.orgId`. */
export type RequestPath = `${'params' | 'query' | 'body'}.${string}`;

export interface AuthorizeOptions {
  /** The resource's id (default `params.id` unless `org` is given). */
  id?: RequestPath;
  /**
   * The organization of a collection (create, list): the id of an organization whose resources of
   * this type are meant. Absent from the request: the principal's personal collection (or, for a
   * key bound to an organization, that organization).
   */
  org?: RequestPath;
}

export interface AuthorizeRule extends AuthorizeOptions {
  type: ResourceType;
  action: AccessAction;
}

export const AUTHORIZE = 'quorum:authorize';

/**
 * Guards a route by the access policy (src/orgs/access-policy.ts): `@Authorize('task', 'read')` on
 * `GET /tasks/:id`, `@Authorize('task', 'create', { org: 'body.orgId' })` on `POST /tasks`. The
 * decision the guard made is on the request for the handler (`@Access()`).
 */
export function Authorize(type: ResourceType, action: AccessAction, options: AuthorizeOptions = {}) {
  const rule: AuthorizeRule = { type, action, ...options };
  if (!rule.id && !rule.org) rule.id = 'params.id';
  return applyDecorators(SetMetadata(AUTHORIZE, rule), UseGuards(ResourceAccessGuard));
}
