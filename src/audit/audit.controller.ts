import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { ApiProblem } from '#src/common/openapi-conventions.js';
import { MembershipsService } from '#src/orgs/memberships.service.js';
import { roleAtLeast } from '#src/orgs/org-roles.js';
import { OrgNotFoundError } from '#src/orgs/orgs.errors.js';
import { OrgRoleRequiredError } from '#src/orgs/resource-access.guard.js';
import { AuditEventsService, AuditScope } from './audit-events.service.js';
import { AuditEventPage, AuditEventQueryDto } from './dto/audit-event.dto.js';

@ApiTags('audit events')
@ApiBearerAuth('bearer')
@Controller('audit-events')
export class AuditController {
  constructor(
    private readonly events: AuditEventsService,
    private readonly memberships: MembershipsService,
  ) {}

  @Get()
  @ApiOperation({
    summary: "Audit events, newest first: my account's; ?orgId= an organization's (its admins); admins: all",
  })
  @ApiOkResponse({ type: AuditEventPage })
  @ApiProblem(403, 'FORBIDDEN', "An organization's events are for its admins.")
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization of yours.')
  async list(@CurrentUser() user: AuthUser, @Query() query: AuditEventQueryDto): Promise<AuditEventPage> {
    return this.events.list(await this.scopeOf(user, query.orgId), query);
  }

  /** Admins read everything; an organization's admins its events; everyone their own account's. */
  private async scopeOf(user: AuthUser, orgId: string | undefined): Promise<AuditScope> {
    if (!orgId) return user.role === 'admin' ? { kind: 'all' } : { kind: 'account', userId: user.id };
    if (user.role !== 'admin') {
      const role = await this.memberships.roleOf(orgId, user.id);
      if (!role) throw new OrgNotFoundError();
      if (!roleAtLeast(role, 'admin')) throw new OrgRoleRequiredError();
    }
    return { kind: 'org', orgId };
  }
}
