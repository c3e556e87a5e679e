import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { PageQueryDto } from '#src/common/pagination.js';
import {
  CreateWebhookDto,
  RotatedSecretView,
  UpdateWebhookDto,
  WebhookDeliveryPageView,
  WebhookDeliveryView,
  WebhookPageView,
  WebhookView,
  WebhookWithSecretView,
} from './dto/webhook.dto.js';
import { WebhooksService } from './webhooks.service.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

/** Sending on demand makes outgoing requests: kept well below the general limit. */
const SEND_LIMIT = { default: { limit: 20, ttl: 60_000 } };

@ApiTags('webhooks')
@ApiBearerAuth('bearer')
@KeyScope('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiCreatedResponse({ type: WebhookWithSecretView, description: 'The secret is shown only here.' })
  @ApiOperation({ summary: 'Subscribe a URL to events; the signing secret is shown only in this answer' })
  @ApiProblem(
    400,
    ['VALIDATION_FAILED', 'WEBHOOK_URL_FORBIDDEN'],
    'A field is not valid, or the URL points somewhere not allowed.',
  )
  @ApiProblem(409, 'WEBHOOK_LIMIT_REACHED', 'You have as many webhooks as allowed.')
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateWebhookDto): Promise<WebhookWithSecretView> {
    return this.webhooks.create(user.id, dto);
  }

  @Get()
  @ApiOkResponse({ type: WebhookPageView })
  @ApiOperation({ summary: 'My webhooks, a page at a time' })
  list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<WebhookPageView> {
    return this.webhooks.list(user.id, page);
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookView })
  @ApiOperation({ summary: 'One of my webhooks' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  get(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookView> {
    return this.webhooks.get(user.id, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: WebhookView })
  @ApiOperation({ summary: 'Edit a webhook (URL, events, enabled)' })
  @ApiProblem(
    400,
    ['VALIDATION_FAILED', 'WEBHOOK_URL_FORBIDDEN'],
    'A field is not valid, or the URL points somewhere not allowed.',
  )
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  update(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookView> {
    return this.webhooks.update(user.id, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiOperation({ summary: 'Delete a webhook and its delivery log' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  remove(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.webhooks.remove(user.id, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({
    type: RotatedSecretView,
    description: 'The new secret, shown once; the old one signs too until previousSecretExpiresAt.',
  })
  @ApiOperation({ summary: 'Replace the signing secret (the new one is shown only here)' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  rotateSecret(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<RotatedSecretView> {
    return this.webhooks.rotateSecret(user.id, id);
  }

  @Post(':id/test')
  @HttpCode(202)
  @Throttle(SEND_LIMIT)
  @ApiAcceptedResponse({ type: WebhookDeliveryView, description: 'A webhook.test event was queued for this endpoint.' })
  @ApiOperation({ summary: 'Queue a webhook.test event to this endpoint' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  @ApiProblem(409, 'WEBHOOK_DISABLED', 'The webhook is disabled.')
  sendTest(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookDeliveryView> {
    return this.webhooks.sendTest(user.id, id);
  }

  @Get(':id/deliveries')
  @ApiOkResponse({ type: WebhookDeliveryPageView, description: 'Deliveries, newest first, each with every attempt.' })
  @ApiOperation({ summary: 'Deliveries of a webhook, newest first, each with every attempt' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  deliveries(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() page: PageQueryDto,
  ): Promise<WebhookDeliveryPageView> {
    return this.webhooks.listDeliveries(user.id, id, page);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @Throttle(SEND_LIMIT)
  @ApiAcceptedResponse({
    type: WebhookDeliveryView,
    description: 'One more attempt was queued, with the same webhook-id.',
  })
  @ApiOperation({ summary: 'Deliver a failed delivery again' })
  @ApiProblem(404, ['WEBHOOK_NOT_FOUND', 'WEBHOOK_DELIVERY_NOT_FOUND'], 'No such webhook or delivery of yours.')
  @ApiProblem(
    409,
    ['WEBHOOK_DISABLED', 'WEBHOOK_DELIVERY_IN_PROGRESS'],
    'The webhook is disabled, or the delivery still has attempts pending.',
  )
  retry(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('deliveryId', new ParseUUIDPipe()) deliveryId: string,
  ): Promise<WebhookDeliveryView> {
    return this.webhooks.retryDelivery(user.id, id, deliveryId);
  }
}
