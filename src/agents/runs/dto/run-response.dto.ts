import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RUN_STATUSES } from '../entities/run.entity.js';

/** Response shapes of the run routes, for the OpenAPI document. */
export class UsageDto {
  @ApiProperty() inputTokens!: number;
  @ApiProperty({ description: "Prompt tokens read from the providers' caches (among inputTokens)" })
  cachedInputTokens!: number;
  @ApiProperty() outputTokens!: number;
  @ApiProperty({ example: '0.0043575', description: 'USD, exact decimal string' }) costUsd!: string;
}

export class RoutingDto {
  @ApiProperty({ example: ['anthropic:claude-sonnet-4-6', 'openai:gpt-4o'] }) candidates!: string[];
  @ApiProperty({ example: 'openai:gpt-4o' }) chosen!: string;
  @ApiProperty({ example: 'lowest score (cost 1.00, p95 within SLO)' }) reason!: string;
}

export class RunStepDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'coder', description: 'planner, coder, tester, sandbox, reviewer or judge.<name>' })
  agent!: string;
  @ApiProperty() iteration!: number;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'gpt-4o' }) model!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'openai' }) provider!: string | null;
  @ApiProperty({ enum: ['running', 'completed', 'failed', 'skipped', 'interrupted'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty() inputTokens!: number;
  @ApiProperty() cachedInputTokens!: number;
  @ApiProperty() outputTokens!: number;
  @ApiProperty({ example: '0.0012' }) costUsd!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) summary!: string | null;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional({ type: RoutingDto }) routing?: RoutingDto;
}

export class RunAwaitingDto {
  @ApiProperty({ enum: ['plan', 'budget'], description: 'A plan answer, or room in the budget that refused a call' })
  reason!: string;
  @ApiPropertyOptional({ enum: ['user', 'org', 'member', 'apiKey', 'task'] }) scope?: string;
  @ApiPropertyOptional() scopeId?: string;
  @ApiPropertyOptional({ example: '5' }) limitUsd?: string;
  @ApiPropertyOptional({ example: '0.0412', description: 'What the limit must have room for to continue' })
  requiredUsd?: string;
}

export class RunDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) taskId!: string;
  @ApiProperty({ enum: RUN_STATUSES }) status!: string;
  @ApiProperty() iteration!: number;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional({ example: 'MAX_ITERATIONS' }) errorCode?: string;
  @ApiProperty() cancelRequested!: boolean;
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
  @ApiPropertyOptional({ type: RunAwaitingDto, description: 'While `awaiting_input`: what the run waits for' })
  awaiting?: RunAwaitingDto;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class RunWithStepsDto extends RunDto {
  @ApiProperty({ type: [RunStepDto] }) steps!: RunStepDto[];
}

export class RunEnvelopeDto {
  @ApiProperty({ type: RunDto }) run!: RunDto;
}

export class RunPageDto {
  @ApiProperty({ type: [RunDto] }) items!: RunDto[];
  @ApiPropertyOptional({ type: String, nullable: true }) nextCursor!: string | null;
}

export class RunEventDto {
  @ApiProperty({ description: 'Per-run order, from 1 without gaps; the SSE `id:`' }) seq!: number;
  @ApiProperty({ format: 'uuid', description: 'Also the webhook-id of its deliveries' }) id!: string;
  @ApiProperty({ example: 'agent.completed' }) type!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'taskId, runId, and per type agent, iteration, usage, …',
  })
  data!: Record<string, unknown>;
}

export class RunEventListDto {
  @ApiProperty({ type: [RunEventDto] }) items!: RunEventDto[];
}
