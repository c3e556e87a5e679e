import { Module } from '@nestjs/common';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsCoreModule } from './metrics-core.module.js';
import { OrgBudgetController } from './org-budget.controller.js';
import { PrometheusController } from './prometheus.controller.js';
import { PrometheusService } from './prometheus.service.js';

/** The HTTP side of metrics: Prometheus scrape endpoint, usage and budget API. */
@Module({
  imports: [MetricsCoreModule, LlmModule],
  controllers: [MetricsController, PrometheusController, OrgBudgetController],
  providers: [PrometheusService],
})
export class MetricsModule {}
