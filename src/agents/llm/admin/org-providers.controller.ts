import { Body, Controller, Get, Param, Patch, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { actorOf, auditClient } from '#src/audit/audit.service.js';
import { principalOf } from '#src/auth/principal.js';
import type { PrincipalRequest } from '#src/auth/principal.js';
import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { OrgProviderListView, OrgProviderView, UpdateProviderDto } from './provider-admin.dto.js';
import { ProviderAdminService } from './provider-admin.service.js';

/** An organization's LLM provider switches: its members read them, its admins change them. */
@ApiTags('orgs')
@ApiBearerAuth('bearer')
@Controller('orgs')
export class OrgProvidersController {
  constructor(private readonly providers: ProviderAdminService) {}

  @Get(':id/providers')
  @Authorize('provider', 'read', { org: 'params.id' })
  @ApiOkResponse({ type: OrgProviderListView })
  @ApiOperation({
    summary: 'The providers this organization’s calls may use: its own switches and what the admin disabled',
  })
  @ApiProblem(404, 'ORG_NOT_FOUND', 'No such organization, or you are not a member.')
  async list(@Param('id') orgId: string): Promise<OrgProviderListView> {
    return { items: await this.providers.listForOrg(orgId) };
  }

  @Patch(':id/providers/:name')
  @Authorize('provider', 'update', { org: 'params.id' })
  @ApiOkResponse({ type: OrgProviderView })
  @ApiOperation({
    summary:
      'Organization admin: disable or force a provider for this organization’s calls (in effect in every process when this answers)',
  })
  @ApiProblem(403, 'FORBIDDEN', 'Your role in this organization does not allow this.')
  @ApiProblem(404, 'PROVIDER_NOT_FOUND', 'No such provider (or organization).')
  @ApiProblem(
    409,
    'PROVIDER_DISABLED',
    'The provider is disabled (by the administrator, or here) and cannot be forced.',
  )
  async update(
    @Param('id') orgId: string,
    @Param('name') name: string,
    @Body() dto: UpdateProviderDto,
    @Req() req: Request & PrincipalRequest,
  ): Promise<OrgProviderView> {
    return this.providers.updateForOrg(orgId, name, dto, actorOf(principalOf(req)), auditClient(req));
  }
}
