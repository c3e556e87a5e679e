import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  Max,
  Validate,
} from 'class-validator';
import { UsdAmount } from '#src/metrics/dto/budget.dto.js';
import { PageQueryDto } from '#src/common/pagination.js';
import { PG_INT_MAX } from '#src/common/validation.js';

export class RunQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  taskId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: "The organization's runs instead of my own." })
  @IsOptional()
  @IsUUID()
  orgId?: string;
}

export class RunEventsQueryDto {
  @ApiPropertyOptional({ description: 'Only events with a larger seq.', default: 0, maximum: PG_INT_MAX })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(PG_INT_MAX) // seq is an integer column: a larger value could only fail in PostgreSQL
  after?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class RunStreamQueryDto {
  @ApiPropertyOptional({
    description: 'Start after this seq (the Last-Event-ID header wins when both are sent).',
    maximum: PG_INT_MAX,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(PG_INT_MAX)
  after?: number;
}

export class ResumeRunDto {
  @ApiProperty({ description: 'true approves the plan; false sends feedback and re-plans.' })
  @IsBoolean()
  approve!: boolean;

  @ApiPropertyOptional({ maxLength: 4000 })
  @ValidateIf((dto: ResumeRunDto) => dto.approve === false || dto.feedback !== undefined)
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  feedback?: string;

  @ApiPropertyOptional({
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: '5.00',
    description:
      "Only for a run paused by its task's limit: the task's new `config.maxCostUsd` (USD, ≤ 8 decimals), for this run and the task's later ones.",
  })
  @IsOptional()
  @Validate(UsdAmount)
  maxCostUsd?: number | string;
}
