import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { UsageDto } from '#src/agents/runs/dto/run-response.dto.js';
import { TASK_LANGUAGES, TASK_MODES, TASK_STATUSES } from '../entities/task.entity.js';
import { TaskConfigDto, TaskFileDto } from './task-input.dto.js';

/** Response shapes of the task routes, for the OpenAPI document. */
export class TaskDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ enum: TASK_LANGUAGES }) language!: string;
  @ApiProperty({ enum: TASK_MODES }) mode!: string;
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true }) repositoryId!: string | null;
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true, description: 'The organization it belongs to.' })
  orgId!: string | null;
  @ApiProperty({ format: 'uuid', description: 'The author.' }) userId!: string;
  @ApiProperty({ type: [TaskFileDto] }) files!: TaskFileDto[];
  @ApiProperty({ type: TaskConfigDto }) config!: TaskConfigDto;
  @ApiProperty({ enum: TASK_STATUSES }) status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class TaskEnvelopeDto {
  @ApiProperty({ type: TaskDto }) task!: TaskDto;
}

export class TaskPageDto {
  @ApiProperty({ type: [TaskDto] }) items!: TaskDto[];
  @ApiPropertyOptional({ type: String, nullable: true }) nextCursor!: string | null;
}

class TestsResultDto {
  @ApiProperty({ type: Number, nullable: true, description: "null when the runner's output could not be read" })
  passed!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: "null when the runner's output could not be read" })
  failed!: number | null;
  @ApiProperty() output!: string;
  @ApiProperty({ type: [TaskFileDto] }) files!: TaskFileDto[];
}

class ReviewIssueDto {
  @ApiProperty({ enum: ['critical', 'warning', 'info'] }) severity!: string;
  @ApiPropertyOptional() file?: string;
  @ApiPropertyOptional() line?: number;
  @ApiProperty() message!: string;
}

class ReviewResultDto {
  @ApiProperty({ enum: ['APPROVE', 'REVISE', 'REJECT'] }) verdict!: string;
  @ApiProperty() summary!: string;
  @ApiProperty({ type: [ReviewIssueDto] }) issues!: ReviewIssueDto[];
  @ApiPropertyOptional({ minimum: 0, maximum: 10 }) score?: number;
}

export class TaskResultDto {
  @ApiProperty({ format: 'uuid' }) runId!: string;
  @ApiProperty() status!: string;
  @ApiProperty() iteration!: number;
  @ApiPropertyOptional() error?: string;
  @ApiPropertyOptional() errorCode?: string;
  @ApiProperty({ type: [TaskFileDto] }) files!: TaskFileDto[];
  @ApiProperty({ description: 'Unified diff from the task files (or the repository branch) to the result' })
  diff!: string;
  @ApiPropertyOptional({ type: TestsResultDto, nullable: true }) tests!: TestsResultDto | null;
  @ApiPropertyOptional({ type: ReviewResultDto, nullable: true }) review!: ReviewResultDto | null;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) council?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) plan?: Record<string, unknown>;
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
}
