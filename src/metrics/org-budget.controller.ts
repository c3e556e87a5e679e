import { Body, Controller, Get, Param, Put, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { actorOf, auditClient } from '#src/audit/audit.service.js';
import { AuditService } from '#src/audit/audit.service.js';
import { principalOf } from '#src/auth/principal.js';
import type { PrincipalRequest } from '#src/auth/principal.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { BudgetService } from './budget.service.js';
import { OrgBudgetResponseDto, UpdateOrgBudgetDto } from './dto/budget.dto.js';

/** An organization's budget: its members (viewer and up) read it, admins change it. */
@ApiTags('orgs')
@ApiBearerAuth('bearer')
@Controller('orgs')
export class OrgBudgetController {
  constructor(
    private readonly budgets: BudgetService,
    private readonly audit: AuditService,
  ) {}

  @Get(':id/budget')
  @Authorize('budget', 'read', { org: 'params.id' })
  @KeyScope('metrics', 'read')
  @ApiOperation({ summary: 'The organization’s limits, this month’s spend and what calls in flight hold.' })
  @ApiOkResponse({ type: OrgBudgetResponseDto })
  get(@Param('id') orgId: string): Promise<OrgBudgetResponseDto> {
    return this.budgets.orgStatus(orgId);
  }

  @Put(':id/budget')
  @Authorize('budget', 'update', { org: 'params.id' })
  @ApiOperation({ summary: 'Set the organization’s monthly limit, per-member limit and alert thresholds.' })
  @ApiOkResponse({ type: OrgBudgetResponseDto })
  async set(
    @Param('id') orgId: string,
    @Body() dto: UpdateOrgBudgetDto,
    @Req() req: Request & PrincipalRequest,
  ): Promise<OrgBudgetResponseDto> {
    const before = await this.budgets.orgStatus(orgId);
    const after = await this.budgets.setOrgBudget(orgId, dto);
    await this.audit.record({
      actor: actorOf(principalOf(req)),
      action: 'budget.changed',
      target: { type: 'org_budget', id: orgId },
      orgId,
      ...auditClient(req),
      data: {
        before: { monthlyLimitUsd: before.monthlyLimitUsd, memberMonthlyLimitUsd: before.memberMonthlyLimitUsd },
        after: {
          monthlyLimitUsd: after.monthlyLimitUsd,
          memberMonthlyLimitUsd: after.memberMonthlyLimitUsd,
          alertThresholds: after.alertThresholds,
        },
      },
    });
    return after;
  }
}
