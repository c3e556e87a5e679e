import { Body, Controller, Get, Param, Patch, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { Roles } from '#src/auth/decorators/roles.decorator.js';
import { auditClient } from '#src/audit/audit.service.js';
import { ApiProblem } from '#src/common/openapi-conventions.js';
import { ProviderListView, ProviderView, UpdateProviderDto } from './provider-admin.dto.js';
import { ProviderAdminService } from './provider-admin.service.js';

@ApiTags('admin')
@ApiBearerAuth('bearer')
@Controller('admin/providers')
export class ProviderAdminController {
  constructor(private readonly providers: ProviderAdminService) {}

  @Get()
  @Roles('admin')
  @ApiOkResponse({ type: ProviderListView })
  @ApiOperation({ summary: 'Admin: LLM providers with their switches, circuit, latency p50/p95 and spend today' })
  @ApiProblem(403, 'FORBIDDEN', 'Only admins may do this.')
  async list(): Promise<ProviderListView> {
    return { items: await this.providers.list() };
  }

  @Patch(':name')
  @Roles('admin')
  @ApiOkResponse({ type: ProviderView })
  @ApiOperation({ summary: 'Admin: disable or force a provider (in effect in every process when this answers)' })
  @ApiProblem(403, 'FORBIDDEN', 'Only admins may do this.')
  @ApiProblem(404, 'PROVIDER_NOT_FOUND', 'No such provider.')
  @ApiProblem(409, 'PROVIDER_NOT_CONFIGURED', 'A provider that is not configured cannot be forced.')
  async update(
    @CurrentUser() admin: AuthUser,
    @Param('name') name: string,
    @Body() dto: UpdateProviderDto,
    @Req() req: Request,
  ): Promise<ProviderView> {
    return this.providers.update(name, dto, admin.id, auditClient(req));
  }
}
