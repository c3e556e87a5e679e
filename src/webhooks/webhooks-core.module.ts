import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhookDeliveryAttempt } from './entities/webhook-delivery-attempt.entity.js';
import { WebhookDelivery } from './entities/webhook-delivery.entity.js';
import { WebhookSubscription } from './entities/webhook-subscription.entity.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookDispatcher } from './webhook-dispatcher.service.js';
import { WebhookHttpClient } from './webhook-http-client.js';
import { WebhookOutboxService } from './webhook-outbox.service.js';
import { WebhookSecrets } from './webhook-secrets.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Everything of webhooks except HTTP routes and the queue consumer: importable by the API, the
 * worker and other modules (runs calls WebhookOutboxService.record inside its transactions).
 */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookSubscription, WebhookDelivery, WebhookDeliveryAttempt])],
  providers: [
    WebhookOutboxService,
    WebhookDispatcher,
    WebhookDeliveryService,
    WebhookHttpClient,
    WebhookSecrets,
    WebhooksService,
  ],
  exports: [WebhookOutboxService, WebhookDispatcher, WebhookDeliveryService, WebhooksService],
})
export class WebhooksCoreModule {}
