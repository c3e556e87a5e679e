import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import { WEBHOOK_EVENT_TYPES } from '#src/common/events.js';

export const EVENT_FILTER_VALUES = ['*', ...WEBHOOK_EVENT_TYPES];

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://example.com/hooks/quorum', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiProperty({
    description: 'Event types to receive, or ["*"] for all.',
    enum: EVENT_FILTER_VALUES,
    isArray: true,
    example: ['run.completed', 'run.failed'],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(EVENT_FILTER_VALUES.length)
  @ArrayUnique()
  @IsIn(EVENT_FILTER_VALUES, {
    each: true,
    message: `each value in events must be one of: ${EVENT_FILTER_VALUES.join(', ')}`,
  })
  events!: string[];

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
  @ApiPropertyOptional({
    format: 'uuid',
    description: "The organization's subscription (admin or above): it receives its runs' events.",
  })
  @IsOptional()
  @IsUUID()
  orgId?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: EVENT_FILTER_VALUES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(EVENT_FILTER_VALUES.length)
  @ArrayUnique()
  @IsIn(EVENT_FILTER_VALUES, {
    each: true,
    message: `each value in events must be one of: ${EVENT_FILTER_VALUES.join(', ')}`,
  })
  events?: string[];

  @ApiPropertyOptional({ description: 'Enabling a disabled webhook clears its failure streak.' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class WebhookView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ enum: EVENT_FILTER_VALUES, isArray: true }) events!: string[];
  @ApiProperty() enabled!: boolean;
  @ApiProperty({
    enum: ['user', 'gone', 'failing'],
    nullable: true,
    type: String,
    description: 'Why the webhook is disabled: by its owner, answered 410, or failed for too long.',
  })
  disabledReason!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) disabledAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Start of the current streak of failed attempts.',
  })
  failingSince!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Until when the previous secret also signs.',
  })
  previousSecretExpiresAt!: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The organization it belongs to.' })
  orgId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class WebhookWithSecretView extends WebhookView {
  @ApiProperty({
    description: 'The signing secret (whsec_…). Shown only in this response.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  secret!: string;
}

export class WebhookPageView {
  @ApiProperty({ type: [WebhookView] }) items!: WebhookView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class RotatedSecretView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'The new signing secret, shown once.' }) secret!: string;
  @ApiProperty({ format: 'date-time', description: 'The old secret keeps signing (a second v1 signature) until then.' })
  previousSecretExpiresAt!: string;
}

export class WebhookAttemptView {
  @ApiProperty() attempt!: number;
  @ApiProperty({ nullable: true, type: Number }) statusCode!: number | null;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ nullable: true, type: String, description: 'At most 1 KB of the answer.' }) responseBody!:
    string | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class WebhookDeliveryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', description: 'The event id; sent as webhook-id on every attempt.' }) eventId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ enum: ['pending', 'succeeded', 'failed'] }) status!: string;
  @ApiProperty() attemptCount!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) nextAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lastStatusCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) completedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: [WebhookAttemptView], description: 'Every attempt, oldest first.' })
  attempts!: WebhookAttemptView[];
}

export class WebhookDeliveryPageView {
  @ApiProperty({ type: [WebhookDeliveryView] }) items!: WebhookDeliveryView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
