import { Module } from '@nestjs/common';
import { WebhookDeliveryProcessor } from './jobs/webhook-delivery.processor.js';
import { WebhooksCoreModule } from './webhooks-core.module.js';

/** The delivery consumer and the outbox sweeper (listed in JOB_MODULES). */
@Module({
  imports: [WebhooksCoreModule],
  providers: [WebhookDeliveryProcessor],
})
export class WebhookJobsModule {}
