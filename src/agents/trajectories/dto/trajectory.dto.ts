import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '#src/common/pagination.js';

export class TrajectoryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    enum: ['json', 'jsonl'],
    description: '`jsonl` streams the whole trajectory, one entry a line.',
  })
  @IsOptional()
  @IsIn(['json', 'jsonl'])
  format?: 'json' | 'jsonl';
}

export class TrajectoryItemDto {
  @ApiProperty() seq!: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) stepId!: string | null;
  @ApiProperty() agent!: string;
  @ApiProperty({ nullable: true, type: Number }) iteration!: number | null;
  @ApiProperty({ enum: ['model_call', 'tool_call'] }) kind!: string;
  @ApiProperty({
    description:
      'model_call: {provider, model, attempt, params, tools (names), contextMessages (leading messages the previous model call of the step already sent), messages (the rest)}; tool_call: {tool, arguments}',
    type: Object,
  })
  request!: unknown;
  @ApiProperty({
    description:
      'model_call: {text, toolCalls, finishReason} or {error}; tool_call: {ok, target, chars, content (head and tail when long)}',
    type: Object,
  })
  response!: unknown;
  @ApiPropertyOptional({
    description: 'model_call: {inputTokens, outputTokens, cachedInputTokens, costUsd}',
    type: Object,
  })
  usage?: unknown;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class TrajectoryPageDto {
  @ApiProperty({ type: [TrajectoryItemDto] }) items!: TrajectoryItemDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
