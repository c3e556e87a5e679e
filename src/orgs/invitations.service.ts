import { createHash, randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '#src/audit/audit.service.js';
import type { AuditContext } from '#src/audit/audit-context.decorator.js';
import { EmailNotVerifiedError } from '#src/auth/auth.errors.js';
import { Page, PageQueryDto, paginate } from '#src/common/pagination.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { MailService } from '#src/mail/mail.service.js';
import { UsersService } from '#src/users/users.service.js';
import type { InvitationView, OrgView } from './dto/org.dto.js';
import { Organization } from './entities/organization.entity.js';
import { OrgInvitation } from './entities/org-invitation.entity.js';
import { OrgMembership } from './entities/org-membership.entity.js';
import type { OrgRole } from './org-roles.js';
import type { OrgActor } from './orgs.service.js';
import {
  AlreadyMemberError,
  InvitationEmailMismatchError,
  InvitationInvalidError,
  InvitationNotFoundError,
  OwnerRoleRequiredError,
} from './orgs.errors.js';

/** How long an invitation link works. */
export const INVITATION_TTL_MS = 7 * 24 * 3_600_000;

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

const view = (row: OrgInvitation): InvitationView => ({
  id: row.id,
  email: row.email,
  role: row.role,
  expiresAt: row.expiresAt.toISOString(),
  createdAt: row.createdAt.toISOString(),
  acceptedAt: row.acceptedAt?.toISOString() ?? null,
});

/** The signed-in user accepting an invitation, as authentication saw them. */
export interface Invitee {
  id: string;
  email: string;
  emailVerified: boolean;
}

/**
 * Invitations by mail: a one-time token (stored as its SHA-256) in a link to the web app, which
 * the invited person accepts while signed in with the invited, verified email address.
 */
@Injectable()
export class InvitationsService {
  private readonly logger = new Logger(InvitationsService.name);
  private readonly webAppUrl: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.webAppUrl = config.get('app', { infer: true }).webAppUrl;
  }

  /** Invites `email` as `role` (an owner invitation takes an owner) and mails the link. */
  async invite(
    orgId: string,
    actor: OrgActor,
    input: { email: string; role: OrgRole },
    ctx: AuditContext,
  ): Promise<InvitationView> {
    if (input.role === 'owner' && actor.role !== 'owner') throw new OwnerRoleRequiredError();
    const existing = await this.users.findByEmail(input.email);
    if (existing && (await this.dataSource.getRepository(OrgMembership).existsBy({ orgId, userId: existing.id }))) {
      throw new AlreadyMemberError();
    }
    const token = randomBytes(32).toString('base64url');
    const { invitation, org } = await this.dataSource.transaction(async (manager) => {
      const org = await manager.findOneByOrFail(Organization, { id: orgId });
      const invitation = await manager.save(
        manager.create(OrgInvitation, {
          orgId,
          email: input.email,
          role: input.role,
          tokenHash: sha256(token),
          invitedBy: actor.userId,
          expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
        }),
      );
      await this.audit.record(
        {
          ...ctx,
          action: 'org.member_invited',
          target: { type: 'invitation', id: invitation.id },
          orgId,
          data: { email: input.email, role: input.role },
        },
        manager,
      );
      return { invitation, org };
    });
    const link = `${this.webAppUrl}/invitations/accept?token=${encodeURIComponent(token)}`;
    this.mail.sendInBackground({
      to: input.email,
      subject: `You are invited to ${org.name} on Quorum`,
      text: `You have been invited to join the organization "${org.name}" on Quorum as ${input.role}.\n\nSign in with this email address (verified) and open this link to accept:\n${link}\n\nThe link works once and expires in ${Math.round(INVITATION_TTL_MS / 86_400_000)} days. If you did not expect it, ignore this mail.\n`,
    });
    this.logger.log({ orgId, invitationId: invitation.id }, 'Invitation sent');
    return view(invitation);
  }

  list(orgId: string, page: PageQueryDto): Promise<Page<InvitationView>> {
    return paginate(
      this.dataSource.getRepository(OrgInvitation).createQueryBuilder('invitation').where('invitation.orgId = :orgId', {
        orgId,
      }),
      page,
    ).then((result) => ({ items: result.items.map(view), nextCursor: result.nextCursor }));
  }

  /** Withdraws a pending invitation (its link stops working); an accepted one is gone from the list too. */
  async revoke(orgId: string, actor: OrgActor, invitationId: string, ctx: AuditContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const row = await manager.findOneBy(OrgInvitation, { id: invitationId, orgId });
      if (!row) throw new InvitationNotFoundError();
      if (row.role === 'owner' && actor.role !== 'owner') throw new OwnerRoleRequiredError();
      await manager.delete(OrgInvitation, { id: row.id });
      await this.audit.record(
        {
          ...ctx,
          action: 'org.invitation_revoked',
          target: { type: 'invitation', id: row.id },
          orgId,
          data: { email: row.email, role: row.role },
        },
        manager,
      );
    });
  }

  /**
   * Accepts an invitation: the token must be known, unused and unexpired, and the signed-in user's
   * verified email the invited one. A refused attempt does not use the token up.
   */
  async accept(token: string, invitee: Invitee, ctx: AuditContext): Promise<OrgView> {
    return this.dataSource.transaction(async (manager) => {
      const row = await manager
        .getRepository(OrgInvitation)
        .findOne({ where: { tokenHash: sha256(token) }, lock: { mode: 'pessimistic_write' } });
      if (!row || row.acceptedAt) throw new InvitationInvalidError();
      if (row.expiresAt.getTime() <= Date.now()) throw new InvitationInvalidError('INVITATION_EXPIRED');
      if (!invitee.emailVerified) throw new EmailNotVerifiedError();
      if (row.email.toLowerCase() !== invitee.email.toLowerCase()) throw new InvitationEmailMismatchError();
      if (await manager.existsBy(OrgMembership, { orgId: row.orgId, userId: invitee.id })) {
        throw new AlreadyMemberError();
      }
      await manager.insert(OrgMembership, { orgId: row.orgId, userId: invitee.id, role: row.role });
      await manager.update(OrgInvitation, { id: row.id }, { acceptedAt: new Date(), acceptedBy: invitee.id });
      await this.audit.record(
        {
          ...ctx,
          action: 'org.member_joined',
          target: { type: 'invitation', id: row.id },
          orgId: row.orgId,
          data: { role: row.role, email: row.email },
        },
        manager,
      );
      const org = await manager.findOneByOrFail(Organization, { id: row.orgId });
      return { id: org.id, name: org.name, role: row.role, createdAt: org.createdAt.toISOString() };
    });
  }
}
