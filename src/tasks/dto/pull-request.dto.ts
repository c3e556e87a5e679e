import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class OpenPullRequestDto {
  @ApiPropertyOptional({ description: 'Defaults to the task title.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({ description: 'Defaults to the plan, test results and review of the latest run.', maxLength: 20000 })
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  body?: string;
}
