import type { ApiKeyScope } from '#src/auth/api-keys/api-key-scopes.js';
import type { Principal } from '#src/auth/principal.js';
import { OrgRole, roleAtLeast } from './org-roles.js';

/** What can be protected: resources an organization may own, and the organization's own parts. */
export type ResourceType =
  | 'task'
  | 'run'
  | 'repository'
  | 'webhook'
  | 'usage'
  | 'org'
  | 'member'
  | 'invitation'
  | 'budget'
  | 'provider'
  | 'apiKey'
  | 'audit';

export type AccessAction = 'read' | 'create' | 'update' | 'delete' | 'execute' | 'cancel' | 'resume' | 'use' | 'manage';

/**
 * One cell of the policy: the least organization role that may do it (`authorRole`: what suffices
 * for the resource's own author), and what an API key needs: a scope, `anyKey` (every key may) or
 * `noKey` (keys are refused: account and organization management stays with people).
 */
export interface PolicyRule {
  role: OrgRole;
  authorRole?: OrgRole;
  key: ApiKeyScope | 'anyKey' | 'noKey';
}

/**
 * The access policy, one table for every module (API.md "Organizations"): viewer reads tasks, runs,
 * results and usage; member also creates, executes and cancels tasks; admin also manages
 * repositories, webhooks, members, invitations, budget, LLM provider switches and the organization's API keys; owner also
 * deletes the organization. `read` is also who may *see* a resource: below it the answer is 404,
 * above it but below the action's role it is 403.
 */
export const POLICY: Record<ResourceType, Partial<Record<AccessAction, PolicyRule>> & { read: PolicyRule }> = {
  task: {
    read: { role: 'viewer', key: 'tasks:read' },
    create: { role: 'member', key: 'tasks:write' },
    update: { role: 'admin', authorRole: 'member', key: 'tasks:write' },
    delete: { role: 'admin', authorRole: 'member', key: 'tasks:write' },
    execute: { role: 'member', key: 'runs:write' },
    cancel: { role: 'member', key: 'runs:write' },
  },
  run: {
    read: { role: 'viewer', key: 'runs:read' },
    resume: { role: 'member', key: 'runs:write' },
    cancel: { role: 'member', key: 'runs:write' },
  },
  repository: {
    read: { role: 'viewer', key: 'repositories:read' },
    // Naming the repository in a task the principal creates.
    use: { role: 'member', key: 'tasks:write' },
    create: { role: 'admin', key: 'repositories:write' },
    update: { role: 'admin', key: 'repositories:write' },
    delete: { role: 'admin', key: 'repositories:write' },
  },
  webhook: {
    read: { role: 'admin', key: 'webhooks:read' },
    create: { role: 'admin', key: 'webhooks:write' },
    update: { role: 'admin', key: 'webhooks:write' },
    delete: { role: 'admin', key: 'webhooks:write' },
  },
  usage: { read: { role: 'viewer', key: 'metrics:read' } },
  org: {
    read: { role: 'viewer', key: 'anyKey' },
    update: { role: 'admin', key: 'noKey' },
    delete: { role: 'owner', key: 'noKey' },
  },
  member: {
    read: { role: 'viewer', key: 'noKey' },
    manage: { role: 'admin', key: 'noKey' },
  },
  invitation: {
    read: { role: 'admin', key: 'noKey' },
    manage: { role: 'admin', key: 'noKey' },
  },
  budget: {
    read: { role: 'viewer', key: 'metrics:read' },
    update: { role: 'admin', key: 'noKey' },
  },
  // The organization's LLM provider switches: members see which providers their calls may use.
  provider: {
    read: { role: 'viewer', key: 'noKey' },
    update: { role: 'admin', key: 'noKey' },
  },
  apiKey: {
    read: { role: 'admin', key: 'noKey' },
    manage: { role: 'admin', key: 'noKey' },
  },
  audit: { read: { role: 'admin', key: 'noKey' } },
};

/**
 * Who a resource belongs to. `ownerId` is the author (personal resources: the owner); `orgId` the
 * organization that owns it, if any. A collection (create, list) is `{ownerId: principal, orgId}`.
 */
export interface ResourceOwnership {
  ownerId: string | null;
  orgId: string | null;
  /** A collection (create, list): a member who may not read it still knows the organization (403). */
  collection?: boolean;
}

export type AccessDecision =
  { allowed: true } | { allowed: false; reason: 'not_found' | 'forbidden' | 'insufficient_scope' | 'key_not_allowed' };

/**
 * May `principal` do `action` on this resource? `orgRole` is the principal's role in the resource's
 * organization (null: not a member, or a personal resource). Pure: the guard looks the inputs up.
 *  - a personal resource is its owner's alone; anyone else: not found (as if it did not exist);
 *  - an organization's resource is not found for non-members and for roles below its `read` rule,
 *    forbidden for roles that may read it but not do this;
 *  - an API key also needs the rule's scope, and a key bound to an organization sees only it.
 */
export function decideAccess(
  principal: Principal,
  type: ResourceType,
  action: AccessAction,
  resource: ResourceOwnership,
  orgRole: OrgRole | null,
): AccessDecision {
  const table = POLICY[type];
  const rule = table[action];
  if (!rule) return { allowed: false, reason: 'forbidden' };
  if (principal.kind === 'apiKey') {
    if (rule.key === 'noKey') return { allowed: false, reason: 'key_not_allowed' };
    if (rule.key !== 'anyKey' && !principal.scopes.includes(rule.key)) {
      return { allowed: false, reason: 'insufficient_scope' };
    }
    if (principal.orgId !== null && resource.orgId !== principal.orgId) return { allowed: false, reason: 'not_found' };
  }
  if (resource.orgId === null) {
    return resource.ownerId === principal.userId ? { allowed: true } : { allowed: false, reason: 'not_found' };
  }
  if (!orgRole || !roleAtLeast(orgRole, table.read.role)) {
    // A member who may not read this kind of resource still knows the organization: its collection is 403.
    return {
      allowed: false,
      reason: orgRole && (resource.collection || action === 'create') ? 'forbidden' : 'not_found',
    };
  }
  if (roleAtLeast(orgRole, rule.role)) return { allowed: true };
  if (rule.authorRole && resource.ownerId === principal.userId && roleAtLeast(orgRole, rule.authorRole)) {
    return { allowed: true };
  }
  return { allowed: false, reason: 'forbidden' };
}

/** A located row's ownership (`{userId, orgId}` → ResourceOwnership), or null for no row. */
export function ownership(row: { userId: string; orgId: string | null } | null): ResourceOwnership | null {
  return row ? { ownerId: row.userId, orgId: row.orgId } : null;
}
