import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  ValidateNested,
} from 'class-validator';
import { UsdAmount } from '#src/metrics/dto/budget.dto.js';
import { TASK_LANGUAGES, TASK_MODES } from '#src/tasks/entities/task.entity.js';
import type { TaskLanguage, TaskMode } from '#src/tasks/entities/task.entity.js';

const MODEL_REF = /^[a-z]+(:[A-Za-z0-9._:/@-]{1,150})?$/;
const JUDGE = /^[a-z][a-z0-9_-]{0,39}$/;

export class TaskFileDto {
  @ApiProperty({
    example: 'src/sum.js',
    description: 'Relative to the workspace; normalised, `..` and absolute paths refused.',
  })
  @IsString()
  @MaxLength(255)
  path!: string;

  @ApiProperty({ example: 'export const sum = (a, b) => a + b;\n' })
  @IsString()
  @MaxLength(10_000_000)
  content!: string;
}

export class TaskModelsDto {
  @ApiPropertyOptional({ example: 'openai:gpt-4o' })
  @IsOptional()
  @IsString()
  @Matches(MODEL_REF, { message: 'must be provider:model or a provider name' })
  planner?: string;
  @ApiPropertyOptional({ example: 'local:qwen2.5-coder' })
  @IsOptional()
  @IsString()
  @Matches(MODEL_REF, { message: 'must be provider:model or a provider name' })
  coder?: string;
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(MODEL_REF, { message: 'must be provider:model or a provider name' })
  tester?: string;
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(MODEL_REF, { message: 'must be provider:model or a provider name' })
  reviewer?: string;
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(MODEL_REF, { message: 'must be provider:model or a provider name' })
  judge?: string;
}

export class TaskConfigDto {
  @ApiPropertyOptional({
    description: 'Review by a council of judges instead of one reviewer (default USE_COUNCIL_REVIEW).',
  })
  @IsOptional()
  @IsBoolean()
  councilEnabled?: boolean;

  @ApiPropertyOptional({ example: ['security', 'performance', 'maintainability'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(JUDGE, { each: true, message: 'each judge must be a lowercase name' })
  judges?: string[];

  @ApiPropertyOptional({
    example: '0.50',
    description:
      "Cap on the council's spend per run in USD (default COUNCIL_MAX_COST_USD); judges whose worst case would exceed it are skipped, and the skip is recorded.",
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,10}(\.\d{1,8})?$/, { message: 'must be a decimal amount in USD, e.g. "0.50"' })
  councilMaxCostUsd?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 10 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  maxIterations?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 200,
    default: 40,
    description: 'Workspace tool calls the coder and the tester may make per step before they must finish.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200)
  maxToolCalls?: number;

  @ApiPropertyOptional({
    minimum: 100,
    maximum: 3_600_000,
    description:
      'Latency objective of each model call (ms): the router prefers candidates whose p95 latency meets it (docs/llm.md).',
  })
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  latencySloMs?: number;

  @ApiPropertyOptional({ description: 'Pause after planning until POST /agents/runs/:id/resume.' })
  @IsOptional()
  @IsBoolean()
  requirePlanApproval?: boolean;

  @ApiPropertyOptional({ type: TaskModelsDto })
  @IsOptional()
  @IsObject() // ValidateNested alone would take an array and validate its elements
  @ValidateNested()
  @Type(() => TaskModelsDto)
  models?: TaskModelsDto;

  @ApiPropertyOptional({ example: 'quorum/feature' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^(?!.*\.\.)(?!\/)(?!.*\/$)[A-Za-z0-9._/-]+$/, { message: 'must be a plain git branch name' })
  branch?: string;

  @ApiPropertyOptional({ example: 'node --test', description: 'Replaces the default test command (no shell).' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  testCommand?: string;

  @ApiPropertyOptional({
    oneOf: [{ type: 'number' }, { type: 'string' }],
    description: 'Most the task’s model calls may cost over its whole life (USD, ≤ 8 decimals).',
    example: '2.50',
  })
  @IsOptional()
  @Validate(UsdAmount)
  maxCostUsd?: number | string;

  @ApiPropertyOptional({
    enum: ['fail', 'pause'],
    description:
      'When a model call does not fit a budget: fail the run (default), or pause it (`awaiting_input`, reason `budget`) until a limit is raised and it is resumed.',
  })
  @IsOptional()
  @IsIn(['fail', 'pause'])
  onBudgetExceeded?: 'fail' | 'pause';
}

export class CreateTaskDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Sum two numbers' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title!: string;

  @ApiProperty({ minLength: 1, maxLength: 20000, example: 'Export sum(a, b) from src/sum.js.' })
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  description!: string;

  @ApiProperty({ enum: TASK_LANGUAGES })
  @IsIn(TASK_LANGUAGES)
  language!: TaskLanguage;

  @ApiPropertyOptional({ enum: TASK_MODES, default: 'build' })
  @IsOptional()
  @IsIn(TASK_MODES)
  mode?: TaskMode;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  repositoryId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Create it in this organization (member or above).' })
  @IsOptional()
  @IsUUID()
  orgId?: string;

  @ApiPropertyOptional({ type: [TaskFileDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => TaskFileDto)
  files?: TaskFileDto[];

  @ApiPropertyOptional({ type: TaskConfigDto })
  @IsOptional()
  @IsObject() // ValidateNested alone would take an array and validate its elements
  @ValidateNested()
  @Type(() => TaskConfigDto)
  config?: TaskConfigDto;
}

/** PATCH /tasks/:id: any field of a new task but its repository and organization, each optional, validated alike. */
export class UpdateTaskDto extends PartialType(OmitType(CreateTaskDto, ['repositoryId', 'orgId'] as const)) {}
