import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsUUID } from 'class-validator';
import { USAGE_GROUPS } from '../usage.service.js';
import type { UsageGroup } from '../usage.service.js';

export class UsageQueryDto {
  @ApiPropertyOptional({
    description: 'Start (inclusive), ISO-8601 date or date-time (UTC when no offset).',
    example: '2026-11-01',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'must be an ISO-8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'End (exclusive), ISO-8601 date or date-time.', example: '2026-12-01' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'must be an ISO-8601 date or date-time' })
  to?: string;

  @ApiPropertyOptional({ enum: USAGE_GROUPS, description: 'Group the sums; without it only the total is returned.' })
  @IsOptional()
  @IsIn(USAGE_GROUPS, { message: `must be one of ${USAGE_GROUPS.join(', ')}` })
  groupBy?: UsageGroup;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'An organization you belong to: the usage of its tasks (group by member or apiKey to split it).',
  })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  orgId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Admins only: whose usage to report.' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  userId?: string;
}

export class UsageTotalsDto {
  @ApiProperty({ description: 'Model-call attempts (retries and fallbacks count).' })
  calls: number;

  @ApiProperty({ description: 'Every prompt token, cached or not.' })
  inputTokens: number;

  @ApiProperty({ description: "Prompt tokens read from the provider's prompt cache (among inputTokens)." })
  cachedInputTokens: number;

  @ApiProperty({ description: "Prompt tokens written to the provider's prompt cache (among inputTokens)." })
  cacheWriteTokens: number;

  @ApiProperty()
  outputTokens: number;

  @ApiProperty({ description: 'Exact decimal string, USD.', example: '0.01234500' })
  costUsd: string;
}

export class UsageRowDto extends UsageTotalsDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'The group: a day (YYYY-MM-DD, UTC), provider:model, agent, task id, provider, member (user id) or API key id; null for calls without a task or key.',
  })
  key: string | null;
}

export class UsageResponseDto {
  @ApiProperty({ type: [UsageRowDto] })
  items: UsageRowDto[];

  @ApiProperty({ type: UsageTotalsDto })
  total: UsageTotalsDto;
}
