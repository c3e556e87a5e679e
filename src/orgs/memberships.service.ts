import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { OrgMembership } from './entities/org-membership.entity.js';
import type { OrgRole } from './org-roles.js';

/** Membership look-ups every process may need (the access guard, webhook fan-out, budgets). */
@Injectable()
export class MembershipsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The user's role in the organization, or null when they are not a member (or it does not exist). */
  async roleOf(orgId: string, userId: string): Promise<OrgRole | null> {
    const row = await this.dataSource
      .getRepository(OrgMembership)
      .findOne({ select: { role: true }, where: { orgId, userId } });
    return row?.role ?? null;
  }

  /**
   * Holds the organization's row shared until the caller's transaction ends: starting a run takes
   * it, deleting the organization takes it exclusively, so neither misses the other.
   */
  async lockOrgShared(manager: EntityManager, orgId: string): Promise<void> {
    await manager.query('SELECT 1 FROM organizations WHERE id = $1 FOR SHARE', [orgId]);
  }

  /** The ids of the organizations the user belongs to. */
  async orgIdsOf(userId: string): Promise<string[]> {
    const rows = await this.dataSource
      .getRepository(OrgMembership)
      .find({ select: { orgId: true }, where: { userId } });
    return rows.map((row) => row.orgId);
  }

  /** Members with at least one of these roles (e.g. owners and admins, for budget alerts). */
  async membersWithRoles(orgId: string, roles: OrgRole[]): Promise<OrgMembership[]> {
    return this.dataSource
      .getRepository(OrgMembership)
      .createQueryBuilder('m')
      .where('m.orgId = :orgId AND m.role IN (:...roles)', { orgId, roles })
      .orderBy('m.createdAt', 'ASC')
      .getMany();
  }
}
