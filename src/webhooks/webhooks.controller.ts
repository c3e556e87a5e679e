import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
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
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateWebhookDto): Promise<WebhookWithSecretView> {
    return this.webhooks.create(user.id, dto);
  }

  @Get()
  @ApiOkResponse({ type: WebhookPageView })
  list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<WebhookPageView> {
    return this.webhooks.list(user.id, page);
  }

  @Get(':id')
  @ApiOkResponse({ type: WebhookView })
  get(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookView> {
    return this.webhooks.get(user.id, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: WebhookView })
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
  remove(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.webhooks.remove(user.id, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({
    type: RotatedSecretView,
    description: 'The new secret, shown once; the old one signs too until previousSecretExpiresAt.',
  })
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
  sendTest(@CurrentUser() user: AuthUser, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookDeliveryView> {
    return this.webhooks.sendTest(user.id, id);
  }

  @Get(':id/deliveries')
  @ApiOkResponse({ type: WebhookDeliveryPageView, description: 'Deliveries, newest first, each with every attempt.' })
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
  retry(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('deliveryId', new ParseUUIDPipe()) deliveryId: string,
  ): Promise<WebhookDeliveryView> {
    return this.webhooks.retryDelivery(user.id, id, deliveryId);
  }
}
