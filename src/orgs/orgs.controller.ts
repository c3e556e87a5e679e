import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Audit, type AuditContext } from '#src/audit/audit-context.decorator.js';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { ApiProblem } from '#src/common/openapi-conventions.js';
import { PageQueryDto } from '#src/common/pagination.js';
import { Authorize } from './authorize.decorator.js';
import {
  AcceptInvitationDto,
  CreateInvitationDto,
  InvitationEnvelope,
  InvitationPage,
  MemberEnvelope,
  MemberList,
  OrgEnvelope,
  OrgNameDto,
  OrgPage,
  OrgRoleDto,
} from './dto/org.dto.js';
import { InvitationsService } from './invitations.service.js';
import { OrgsService } from './orgs.service.js';
import { Access, type AccessGrant } from './resource-access.guard.js';

/** `orgRole` is set whenever the guard authorized an organization's collection. */
const actor = (user: AuthUser, access: AccessGrant) => ({ userId: user.id, role: access.orgRole ?? 'viewer' });

@ApiTags('organizations')
@ApiBearerAuth('bearer')
@Controller('orgs')
export class OrgsController {
  constructor(
    private readonly orgs: OrgsService,
    private readonly invitations: InvitationsService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an organization (the creator is its owner)' })
  @ApiCreatedResponse({ type: OrgEnvelope })
  async create(@CurrentUser() user: AuthUser, @Body() dto: OrgNameDto, @Audit() ctx: AuditContext) {
    return { org: await this.orgs.create(user.id, dto.name, ctx) };
  }

  @Get()
  @ApiOperation({ summary: 'My organizations, each with my role' })
  @ApiOkResponse({ type: OrgPage })
  list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto) {
    return this.orgs.listMine(user.id, page);
  }

  @Post('invitations/accept')
  @HttpCode(200)
  @ApiOperation({ summary: "Accept an invitation (the signed-in user's verified email must be the invited one)" })
  @ApiProblem(403, ['EMAIL_NOT_VERIFIED', 'INVITATION_EMAIL_MISMATCH'], 'Sign in with the invited, verified address.')
  @ApiProblem(404, 'INVITATION_INVALID', 'Unknown, used or withdrawn invitation.')
  @ApiProblem(409, 'ALREADY_MEMBER', 'You are a member already.')
  @ApiProblem(410, 'INVITATION_EXPIRED', 'The invitation has expired.')
  @ApiOkResponse({ type: OrgEnvelope })
  async accept(@CurrentUser() user: AuthUser, @Body() dto: AcceptInvitationDto, @Audit() ctx: AuditContext) {
    return { org: await this.invitations.accept(dto.token, user, ctx) };
  }

  @Get(':id')
  @Authorize('org', 'read', { org: 'params.id' })
  @ApiOperation({ summary: 'One of my organizations, with my role' })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  @ApiOkResponse({ type: OrgEnvelope })
  async get(@Param('id', ParseUUIDPipe) id: string, @Access() access: AccessGrant) {
    return { org: await this.orgs.get(id, access.orgRole ?? 'viewer') };
  }

  @Patch(':id')
  @Authorize('org', 'update', { org: 'params.id' })
  @ApiOperation({ summary: 'Rename (admin)' })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiOkResponse({ type: OrgEnvelope })
  async rename(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: OrgNameDto,
    @Access() access: AccessGrant,
    @Audit() ctx: AuditContext,
  ) {
    return { org: await this.orgs.rename(id, access.orgRole ?? 'viewer', dto.name, ctx) };
  }

  @Delete(':id')
  @HttpCode(204)
  @Authorize('org', 'delete', { org: 'params.id' })
  @ApiOperation({ summary: 'Delete with everything it owns (owner; 409 RUN_ACTIVE while a run is active)' })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiProblem(409, 'RUN_ACTIVE', 'A run of the organization is queued, running or awaiting input.')
  @ApiNoContentResponse()
  async remove(@Param('id', ParseUUIDPipe) id: string, @Audit() ctx: AuditContext): Promise<void> {
    await this.orgs.remove(id, ctx);
  }

  @Get(':id/members')
  @Authorize('member', 'read', { org: 'params.id' })
  @ApiOperation({ summary: 'Members with their roles' })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  @ApiOkResponse({ type: MemberList })
  async members(@Param('id', ParseUUIDPipe) id: string) {
    return { items: await this.orgs.members(id) };
  }

  @Patch(':id/members/:userId')
  @Authorize('member', 'manage', { org: 'params.id' })
  @ApiOperation({ summary: "Change a member's role (admin; owner roles: owner; 409 LAST_OWNER)" })
  @ApiProblem(404, ['ORG_NOT_FOUND', 'MEMBER_NOT_FOUND'], 'No such organization of yours, or no such member.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiProblem(409, 'LAST_OWNER', 'The last owner cannot be demoted.')
  @ApiOkResponse({ type: MemberEnvelope })
  async changeRole(
    @CurrentUser() user: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('userId', ParseUUIDPipe) userId: string,
    @Body() dto: OrgRoleDto,
    @Access() access: AccessGrant,
    @Audit() ctx: AuditContext,
  ) {
    return { member: await this.orgs.changeRole(id, actor(user, access), userId, dto.role, ctx) };
  }

  /** Any member may remove themselves (leave); removing someone else is for admins. */
  @Delete(':id/members/:userId')
  @HttpCode(204)
  @Authorize('member', 'read', { org: 'params.id' })
  @ApiOperation({ summary: 'Remove a member, or leave (409 LAST_OWNER)' })
  @ApiProblem(404, ['ORG_NOT_FOUND', 'MEMBER_NOT_FOUND'], 'No such organization of yours, or no such member.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiProblem(409, 'LAST_OWNER', 'The last owner cannot leave or be removed.')
  @ApiNoContentResponse()
  async removeMember(
    @CurrentUser() user: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('userId', ParseUUIDPipe) userId: string,
    @Access() access: AccessGrant,
    @Audit() ctx: AuditContext,
  ): Promise<void> {
    await this.orgs.removeMember(id, actor(user, access), userId, ctx);
  }

  @Post(':id/invitations')
  @Authorize('invitation', 'manage', { org: 'params.id' })
  @ApiOperation({ summary: 'Invite by email (admin; an owner invitation: owner); mails a one-time link' })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiProblem(409, 'ALREADY_MEMBER', 'That address belongs to a member already.')
  @ApiCreatedResponse({ type: InvitationEnvelope })
  async invite(
    @CurrentUser() user: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: CreateInvitationDto,
    @Access() access: AccessGrant,
    @Audit() ctx: AuditContext,
  ) {
    return { invitation: await this.invitations.invite(id, actor(user, access), dto, ctx) };
  }

  @Get(':id/invitations')
  @Authorize('invitation', 'read', { org: 'params.id' })
  @ApiOperation({ summary: 'Invitations of the organization, newest first (admin)' })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiOkResponse({ type: InvitationPage })
  invitationList(@Param('id', ParseUUIDPipe) id: string, @Query() page: PageQueryDto) {
    return this.invitations.list(id, page);
  }

  @Delete(':id/invitations/:invitationId')
  @HttpCode(204)
  @Authorize('invitation', 'manage', { org: 'params.id' })
  @ApiOperation({ summary: 'Withdraw an invitation: its link stops working (admin)' })
  @ApiProblem(404, ['ORG_NOT_FOUND', 'INVITATION_NOT_FOUND'], 'No such organization of yours, or no such invitation.')
  @ApiProblem(403, 'FORBIDDEN', 'Your role in the organization does not allow this.')
  @ApiNoContentResponse()
  async revokeInvitation(
    @CurrentUser() user: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('invitationId', ParseUUIDPipe) invitationId: string,
    @Access() access: AccessGrant,
    @Audit() ctx: AuditContext,
  ): Promise<void> {
    await this.invitations.revoke(id, actor(user, access), invitationId, ctx);
  }
}
