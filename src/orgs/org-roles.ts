/** Organization roles, strongest first: each role may do everything the ones after it may. */
export const ORG_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

const RANK: Record<OrgRole, number> = { owner: 4, admin: 3, member: 2, viewer: 1 };

/** Whether `role` is at least `minimum` (owner > admin > member > viewer); no role is nothing. */
export function roleAtLeast(role: OrgRole | null | undefined, minimum: OrgRole): boolean {
  return !!role && RANK[role] >= RANK[minimum];
}
