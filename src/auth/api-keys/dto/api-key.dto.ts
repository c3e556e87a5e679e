import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  Validate,
  ValidateIf,
} from 'class-validator';
import { PageQueryDto } from '#src/common/pagination.js';
import { UsdAmount } from '#src/metrics/dto/budget.dto.js';
import { API_KEY_SCOPES } from '../api-key-scopes.js';
import type { ApiKeyScope } from '../api-key-scopes.js';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'CI deploy', maxLength: 100 })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, example: ['tasks:read', 'tasks:write', 'runs:read'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true, message: `each value in scopes must be one of: ${API_KEY_SCOPES.join(', ')}` })
  scopes!: ApiKeyScope[];

  @ApiPropertyOptional({ format: 'date-time', description: 'When the key stops working; in the future.' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'must be an ISO-8601 date-time' })
  expiresAt?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Bind the key to an organization (its admins only).' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  orgId?: string;

  @ApiPropertyOptional({
    nullable: true,
    oneOf: [{ type: 'number' }, { type: 'string' }],
    description: 'Monthly limit in USD of what model calls made through this key may cost.',
    example: '10.00',
  })
  @IsOptional()
  @ValidateIf((o: CreateApiKeyDto) => o.monthlyLimitUsd !== null)
  @Validate(UsdAmount)
  monthlyLimitUsd?: number | string | null;
}

export class ApiKeyView {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid', description: 'The member the key acts as.' })
  userId: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ description: 'The first characters of the key, to recognise it.', example: 'qk_3fA9c0Lm' })
  prefix: string;

  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true })
  scopes: ApiKeyScope[];

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  expiresAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  orgId: string | null;

  @ApiProperty({ nullable: true, type: String, example: '10.00000000' })
  monthlyLimitUsd: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Last authenticated request (updated at most once a minute).',
  })
  lastUsedAt: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class CreatedApiKeyView {
  @ApiProperty({ type: ApiKeyView })
  apiKey: ApiKeyView;

  @ApiProperty({ description: 'The key itself (`qk_…`), shown only here.', example: 'qk_…' })
  key: string;
}

export class ApiKeyPageView {
  @ApiProperty({ type: [ApiKeyView] })
  items: ApiKeyView[];

  @ApiProperty({ nullable: true, type: String })
  nextCursor: string | null;
}

export class ApiKeyListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: "The organization's keys, every member's (its admins and owners only) instead of my own.",
  })
  @IsOptional()
  @IsUUID()
  orgId?: string;
}
