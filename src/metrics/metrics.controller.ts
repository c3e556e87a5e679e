import { Body, Controller, Get, Put, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService, auditClient, userActor } from '#src/audit/audit.service.js';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { BudgetService } from './budget.service.js';
import { BudgetResponseDto, UpdateBudgetDto } from './dto/budget.dto.js';
import { UsageQueryDto, UsageResponseDto } from './dto/usage-query.dto.js';
import { UsageService } from './usage.service.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

@ApiTags('metrics')
@ApiBearerAuth('bearer')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly usage: UsageService,
    private readonly budgets: BudgetService,
    private readonly audit: AuditService,
  ) {}

  @Get('usage')
  @KeyScope('metrics', 'read')
  @ApiOperation({ summary: 'Model usage and cost, optionally grouped; admins may pass ?userId=.' })
  @ApiOkResponse({ type: UsageResponseDto })
  async usageReport(@CurrentUser() user: AuthUser, @Query() query: UsageQueryDto): Promise<UsageResponseDto> {
    return this.usage.report(user, query);
  }

  @Get('budget')
  @KeyScope('metrics', 'read')
  @ApiOperation({ summary: 'Your monthly LLM budget, this month’s spend and what calls in flight hold.' })
  @ApiOkResponse({ type: BudgetResponseDto })
  budget(@CurrentUser() user: AuthUser): Promise<BudgetResponseDto> {
    return this.budgets.status(user.id);
  }

  @Put('budget')
  @ApiOperation({ summary: 'Set your monthly LLM budget (USD), or null for no limit.' })
  @ApiOkResponse({ type: BudgetResponseDto })
  async setBudget(
    @CurrentUser() user: AuthUser,
    @Body() dto: UpdateBudgetDto,
    @Req() req: Request,
  ): Promise<BudgetResponseDto> {
    const before = await this.budgets.getLimit(user.id);
    const after = await this.budgets.setLimit(user.id, dto.monthlyLimitUsd);
    await this.audit.record({
      actor: userActor(user.id),
      action: 'budget.changed',
      target: { type: 'user_budget', id: user.id },
      ...auditClient(req),
      data: { before: { monthlyLimitUsd: before }, after: { monthlyLimitUsd: after.monthlyLimitUsd } },
    });
    return after;
  }
}
