import type { ApiKeyPrincipal, UserPrincipal } from '#src/auth/principal.js';
import { decideAccess, POLICY } from './access-policy.js';
import { ORG_ROLES, roleAtLeast } from './org-roles.js';

const me: UserPrincipal = { kind: 'user', userId: 'me', role: 'user', sessionId: 's' };
const key = (scopes: ApiKeyPrincipal['scopes'], orgId: string | null = null): ApiKeyPrincipal => ({
  kind: 'apiKey',
  keyId: 'k',
  userId: 'me',
  role: 'user',
  scopes,
  orgId,
});

describe('decideAccess', () => {
  it('a personal resource is its owner’s alone; anyone else is told it does not exist', () => {
    expect(decideAccess(me, 'task', 'delete', { ownerId: 'me', orgId: null }, null)).toEqual({ allowed: true });
    expect(decideAccess(me, 'task', 'read', { ownerId: 'other', orgId: null }, null)).toEqual({
      allowed: false,
      reason: 'not_found',
    });
  });

  it('an organization’s resource is not found for non-members', () => {
    expect(decideAccess(me, 'task', 'read', { ownerId: 'me', orgId: 'o' }, null)).toEqual({
      allowed: false,
      reason: 'not_found',
    });
  });

  // Every cell of the table, for every role: allowed at or above the rule's role; 404 below the
  // read role; 403 between the two.
  const cells = Object.entries(POLICY).flatMap(([type, actions]) =>
    Object.entries(actions).map(([action, rule]) => ({ type, action, rule, read: actions.read.role })),
  );
  it.each(cells.flatMap((cell) => ORG_ROLES.map((role) => ({ ...cell, role }))))(
    '$type $action as $role',
    ({ type, action, rule, read, role }) => {
      const decision = decideAccess(
        me,
        type as keyof typeof POLICY,
        action as 'read',
        { ownerId: 'someone-else', orgId: 'o' },
        role,
      );
      if (roleAtLeast(role, rule.role)) expect(decision).toEqual({ allowed: true });
      else if (!roleAtLeast(role, read) && action !== 'create') expect(decision).toMatchObject({ reason: 'not_found' });
      else expect(decision).toMatchObject({ reason: 'forbidden' });
    },
  );

  it('the author of a task may edit it as a member; another member may not', () => {
    expect(decideAccess(me, 'task', 'update', { ownerId: 'me', orgId: 'o' }, 'member')).toEqual({ allowed: true });
    expect(decideAccess(me, 'task', 'update', { ownerId: 'me', orgId: 'o' }, 'viewer')).toMatchObject({
      reason: 'forbidden',
    });
  });

  it('an API key needs the scope, is refused management routes, and sees only its organization', () => {
    const own = { ownerId: 'me', orgId: null };
    expect(decideAccess(key(['tasks:read']), 'task', 'read', own, null)).toEqual({ allowed: true });
    expect(decideAccess(key(['tasks:read']), 'task', 'create', own, null)).toMatchObject({
      reason: 'insufficient_scope',
    });
    expect(decideAccess(key(['tasks:read']), 'member', 'manage', { ownerId: 'me', orgId: 'o' }, 'owner')).toMatchObject(
      { reason: 'key_not_allowed' },
    );
    expect(decideAccess(key(['tasks:read'], 'o'), 'task', 'read', own, null)).toMatchObject({ reason: 'not_found' });
    expect(
      decideAccess(key(['tasks:read'], 'o'), 'task', 'read', { ownerId: 'x', orgId: 'o2' }, 'owner'),
    ).toMatchObject({ reason: 'not_found' });
    expect(decideAccess(key(['tasks:read'], 'o'), 'task', 'read', { ownerId: 'x', orgId: 'o' }, 'viewer')).toEqual({
      allowed: true,
    });
  });
});
