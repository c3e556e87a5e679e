import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '#src/common/pagination.js';
import { TASK_STATUSES } from '../entities/task.entity.js';
import type { TaskStatus } from '../entities/task.entity.js';

export class TaskQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: TASK_STATUSES })
  @IsOptional()
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ApiPropertyOptional({ format: 'uuid', description: "The organization's tasks instead of my own." })
  @IsOptional()
  @IsUUID()
  orgId?: string;
}
