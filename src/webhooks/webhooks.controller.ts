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
import { Audit, type AuditContext } from '#src/audit/audit-context.decorator.js';
import { OrgScopedPageQueryDto } from '#src/orgs/dto/org.dto.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { Access, type AccessGrant } from '#src/orgs/resource-access.guard.js';
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
  @Authorize('webhook', 'create', { org: 'body.orgId' })
  @ApiCreatedResponse({ type: WebhookWithSecretView, description: 'The secret is shown only here.' })
  @ApiOperation({ summary: 'Subscribe a URL to events; the signing secret is shown only in this answer' })
  @ApiProblem(
    400,
    ['VALIDATION_FAILED', 'WEBHOOK_URL_FORBIDDEN'],
    'A field is not valid, or the URL points somewhere not allowed.',
  )
  @ApiProblem(403, 'FORBIDDEN', "An organization's webhooks are managed by its admins.")
  @ApiProblem(404, 'ORG_NOT_FOUND', 'orgId names no organization of yours.')
  @ApiProblem(409, 'WEBHOOK_LIMIT_REACHED', 'You have as many webhooks as allowed.')
  create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateWebhookDto,
    @Access() access: AccessGrant,
    @Audit() ctx: AuditContext,
  ): Promise<WebhookWithSecretView> {
    return this.webhooks.create(user.id, access.orgId, dto, ctx);
  }

  @Get()
  @Authorize('webhook', 'read', { org: 'query.orgId' })
  @ApiOkResponse({ type: WebhookPageView })
  @ApiOperation({ summary: "My webhooks (or ?orgId= the organization's, admins), a page at a time" })
  list(
    @CurrentUser() user: AuthUser,
    @Query() page: OrgScopedPageQueryDto,
    @Access() access: AccessGrant,
  ): Promise<WebhookPageView> {
    return this.webhooks.list({ userId: user.id, orgId: access.orgId }, page);
  }

  @Get(':id')
  @Authorize('webhook', 'read')
  @ApiOkResponse({ type: WebhookView })
  @ApiOperation({ summary: 'One webhook (mine, or of an organization I administer)' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook visible to you.')
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookView> {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @Authorize('webhook', 'update')
  @ApiOkResponse({ type: WebhookView })
  @ApiOperation({ summary: 'Edit a webhook (URL, events, enabled)' })
  @ApiProblem(
    400,
    ['VALIDATION_FAILED', 'WEBHOOK_URL_FORBIDDEN'],
    'A field is not valid, or the URL points somewhere not allowed.',
  )
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook visible to you.')
  update(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: UpdateWebhookDto): Promise<WebhookView> {
    return this.webhooks.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authorize('webhook', 'delete')
  @ApiNoContentResponse()
  @ApiOperation({ summary: 'Delete a webhook and its delivery log' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook visible to you.')
  remove(@Param('id', new ParseUUIDPipe()) id: string, @Audit() ctx: AuditContext): Promise<void> {
    return this.webhooks.remove(id, ctx);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @Authorize('webhook', 'update')
  @ApiOkResponse({
    type: RotatedSecretView,
    description: 'The new secret, shown once; the old one signs too until previousSecretExpiresAt.',
  })
  @ApiOperation({ summary: 'Replace the signing secret (the new one is shown only here)' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook visible to you.')
  rotateSecret(@Param('id', new ParseUUIDPipe()) id: string, @Audit() ctx: AuditContext): Promise<RotatedSecretView> {
    return this.webhooks.rotateSecret(id, ctx);
  }

  @Post(':id/test')
  @HttpCode(202)
  @Throttle(SEND_LIMIT)
  @Authorize('webhook', 'update')
  @ApiAcceptedResponse({ type: WebhookDeliveryView, description: 'A webhook.test event was queued for this endpoint.' })
  @ApiOperation({ summary: 'Queue a webhook.test event to this endpoint' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook visible to you.')
  @ApiProblem(409, 'WEBHOOK_DISABLED', 'The webhook is disabled.')
  sendTest(@Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookDeliveryView> {
    return this.webhooks.sendTest(id);
  }

  @Get(':id/deliveries')
  @Authorize('webhook', 'read')
  @ApiOkResponse({ type: WebhookDeliveryPageView, description: 'Deliveries, newest first, each with every attempt.' })
  @ApiOperation({ summary: 'Deliveries of a webhook, newest first, each with every attempt' })
  @ApiProblem(404, 'WEBHOOK_NOT_FOUND', 'No such webhook of yours.')
  deliveries(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() page: PageQueryDto,
  ): Promise<WebhookDeliveryPageView> {
    return this.webhooks.listDeliveries(id, page);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @Throttle(SEND_LIMIT)
  @Authorize('webhook', 'update')
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
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('deliveryId', new ParseUUIDPipe()) deliveryId: string,
  ): Promise<WebhookDeliveryView> {
    return this.webhooks.retryDelivery(id, deliveryId);
  }
}
