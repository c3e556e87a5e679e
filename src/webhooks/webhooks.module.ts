import { Module } from '@nestjs/common';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksCoreModule } from './webhooks-core.module.js';

/** The HTTP surface of webhooks (listed in HTTP_MODULES). */
@Module({
  imports: [WebhooksCoreModule],
  controllers: [WebhooksController],
})
export class WebhooksModule {}
