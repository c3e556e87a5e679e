import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { RunsService } from '#src/agents/runs/runs.service.js';
import { RunActiveError } from '#src/agents/runs/runs.errors.js';
import { AuditService } from '#src/audit/audit.service.js';
import type { AuditContext } from '#src/audit/audit-context.decorator.js';
import { Page, PageQueryDto, decodeCursor, encodeCursor } from '#src/common/pagination.js';
import { UsersService } from '#src/users/users.service.js';
import type { MemberView, OrgView } from './dto/org.dto.js';
import { Organization } from './entities/organization.entity.js';
import { OrgMembership } from './entities/org-membership.entity.js';
import { OrgRole, roleAtLeast } from './org-roles.js';
import { LastOwnerError, MemberNotFoundError, OrgNotFoundError, OwnerRoleRequiredError } from './orgs.errors.js';
import { OrgRoleRequiredError } from './resource-access.guard.js';
import { ResourceLocators } from './resource-locators.js';

/** The member acting on an organization: who, and with which role there (the guard looked it up). */
export interface OrgActor {
  userId: string;
  role: OrgRole;
}

const view = (org: Organization, role: OrgRole): OrgView => ({
  id: org.id,
  name: org.name,
  role,
  createdAt: org.createdAt.toISOString(),
});

/** Organizations and their members: create, rename, delete, roles, removal and leaving. */
@Injectable()
export class OrgsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runs: RunsService,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    locators: ResourceLocators,
  ) {
    locators.register('org', {
      locate: async (id) =>
        (await this.dataSource.getRepository(Organization).existsBy({ id })) ? { ownerId: null, orgId: id } : null,
      notFound: () => new OrgNotFoundError(),
    });
  }

  async create(userId: string, name: string, ctx: AuditContext): Promise<OrgView> {
    return this.dataSource.transaction(async (manager) => {
      const org = await manager.save(manager.create(Organization, { name, createdBy: userId }));
      await manager.insert(OrgMembership, { orgId: org.id, userId, role: 'owner' });
      await this.audit.record(
        { ...ctx, action: 'org.created', target: { type: 'org', id: org.id }, orgId: org.id, data: { name } },
        manager,
      );
      return view(org, 'owner');
    });
  }

  /** My organizations with my role, newest membership first. */
  async listMine(userId: string, page: PageQueryDto): Promise<Page<OrgView>> {
    const limit = page.limit ?? 20;
    const query = this.dataSource
      .getRepository(OrgMembership)
      .createQueryBuilder('m')
      .innerJoinAndMapOne('m.org', Organization, 'org', 'org.id = m.orgId')
      .where('m.userId = :userId', { userId });
    if (page.cursor) {
      const { createdAt, id } = decodeCursor(page.cursor);
      query.andWhere('(m.createdAt, m.orgId) < (:createdAt, :id)', { createdAt, id });
    }
    const rows = (await query
      .orderBy('m.createdAt', 'DESC')
      .addOrderBy('m.orgId', 'DESC')
      .take(limit + 1)
      .getMany()) as Array<OrgMembership & { org: Organization }>;
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map((row) => view(row.org, row.role)),
      nextCursor:
        rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.orgId }) : null,
    };
  }

  async get(orgId: string, role: OrgRole): Promise<OrgView> {
    const org = await this.dataSource.getRepository(Organization).findOneBy({ id: orgId });
    if (!org) throw new OrgNotFoundError();
    return view(org, role);
  }

  async rename(orgId: string, role: OrgRole, name: string, ctx: AuditContext): Promise<OrgView> {
    return this.dataSource.transaction(async (manager) => {
      const org = await this.lockOrg(manager, orgId);
      const before = org.name;
      org.name = name;
      await manager.save(org);
      await this.audit.record(
        { ...ctx, action: 'org.updated', target: { type: 'org', id: orgId }, orgId, data: { name, before } },
        manager,
      );
      return view(org, role);
    });
  }

  /**
   * Deletes the organization and everything it owns (tasks, runs, repositories, webhooks,
   * invitations, memberships): 409 RUN_ACTIVE while one of its runs is queued, running or waiting.
   * The organization's row lock keeps a run from being started meanwhile (execute takes it shared).
   */
  async remove(orgId: string, ctx: AuditContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const org = await this.lockOrg(manager, orgId);
      if (await this.runs.hasActiveInOrg(manager, orgId)) throw new RunActiveError();
      await manager.delete(Organization, { id: orgId });
      await this.audit.record(
        { ...ctx, action: 'org.deleted', target: { type: 'org', id: orgId }, orgId, data: { name: org.name } },
        manager,
      );
    });
  }

  async members(orgId: string): Promise<MemberView[]> {
    const memberships = await this.dataSource
      .getRepository(OrgMembership)
      .find({ where: { orgId }, order: { createdAt: 'ASC', userId: 'ASC' } });
    const users = new Map((await this.users.findByIds(memberships.map((m) => m.userId))).map((u) => [u.id, u]));
    return memberships.flatMap((m) => {
      const user = users.get(m.userId);
      return user ? [this.memberView(m, user)] : [];
    });
  }

  /**
   * Changes a member's role. Admins manage roles below owner; only an owner grants or takes the
   * owner role; the last owner cannot be demoted (409 LAST_OWNER).
   */
  async changeRole(orgId: string, actor: OrgActor, userId: string, role: OrgRole, ctx: AuditContext) {
    return this.dataSource.transaction(async (manager) => {
      await this.lockOrg(manager, orgId);
      const target = await manager.findOneBy(OrgMembership, { orgId, userId });
      if (!target) throw new MemberNotFoundError();
      if ((target.role === 'owner' || role === 'owner') && actor.role !== 'owner') throw new OwnerRoleRequiredError();
      if (target.role === 'owner' && role !== 'owner' && (await this.ownerCount(manager, orgId)) === 1) {
        throw new LastOwnerError();
      }
      const from = target.role;
      if (from !== role) {
        await manager.update(OrgMembership, { orgId, userId }, { role });
        await this.audit.record(
          {
            ...ctx,
            action: 'org.member_role_changed',
            target: { type: 'user', id: userId },
            subjectUserId: userId,
            orgId,
            data: { from, to: role },
          },
          manager,
        );
      }
      const user = await this.users.getById(userId);
      return this.memberView({ ...target, role }, user);
    });
  }

  /**
   * Removes a member, or lets a member leave (any role may leave). Removing someone else takes an
   * admin, removing an owner an owner; the last owner can neither leave nor be removed.
   */
  async removeMember(orgId: string, actor: OrgActor, userId: string, ctx: AuditContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.lockOrg(manager, orgId);
      const leaving = userId === actor.userId;
      if (!leaving && !roleAtLeast(actor.role, 'admin')) throw new OrgRoleRequiredError();
      const target = await manager.findOneBy(OrgMembership, { orgId, userId });
      if (!target) throw new MemberNotFoundError();
      if (!leaving && target.role === 'owner' && actor.role !== 'owner') throw new OwnerRoleRequiredError();
      if (target.role === 'owner' && (await this.ownerCount(manager, orgId)) === 1) throw new LastOwnerError();
      await manager.delete(OrgMembership, { orgId, userId });
      await this.audit.record(
        {
          ...ctx,
          action: 'org.member_removed',
          target: { type: 'user', id: userId },
          subjectUserId: userId,
          orgId,
          data: { role: target.role, left: leaving },
        },
        manager,
      );
    });
  }

  /** Takes the organization's row lock: membership changes, deletion and run starts serialise on it. */
  async lockOrg(manager: EntityManager, orgId: string): Promise<Organization> {
    const org = await manager
      .getRepository(Organization)
      .findOne({ where: { id: orgId }, lock: { mode: 'pessimistic_write' } });
    if (!org) throw new OrgNotFoundError();
    return org;
  }

  private ownerCount(manager: EntityManager, orgId: string): Promise<number> {
    return manager.countBy(OrgMembership, { orgId, role: 'owner' });
  }

  private memberView(
    m: Pick<OrgMembership, 'userId' | 'role' | 'createdAt'>,
    user: { email: string; name: string | null },
  ): MemberView {
    return { userId: m.userId, email: user.email, name: user.name, role: m.role, joinedAt: m.createdAt.toISOString() };
  }
}
