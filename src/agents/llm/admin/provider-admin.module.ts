import { Module } from '@nestjs/common';
import { MetricsCoreModule } from '#src/metrics/metrics-core.module.js';
import { LlmModule } from '../llm.module.js';
import { OrgProvidersController } from './org-providers.controller.js';
import { ProviderAdminController } from './provider-admin.controller.js';
import { ProviderAdminService } from './provider-admin.service.js';

/**
 * `/admin/providers` and `/orgs/:id/providers`: the API's side of the provider switches (the
 * gateway reads them in every process).
 */
@Module({
  imports: [LlmModule, MetricsCoreModule],
  controllers: [ProviderAdminController, OrgProvidersController],
  providers: [ProviderAdminService],
})
export class ProviderAdminModule {}
