import { Module } from '@nestjs/common';
import { MetricsCoreModule } from '#src/metrics/metrics-core.module.js';
import { LlmModule } from '../llm.module.js';
import { ProviderAdminController } from './provider-admin.controller.js';
import { ProviderAdminService } from './provider-admin.service.js';

/** `/admin/providers`: the API's side of the provider switches (the gateway reads them in every process). */
@Module({
  imports: [LlmModule, MetricsCoreModule],
  controllers: [ProviderAdminController],
  providers: [ProviderAdminService],
})
export class ProviderAdminModule {}
