import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { MetricsCoreModule } from '#src/metrics/metrics-core.module.js';
import { CircuitBreakerService } from './circuit-breaker.service.js';
import { LlmCallHooks } from './llm-call-hooks.js';
import { LlmGatewayService } from './llm-gateway.service.js';
import { ModelRouter } from './model-router.js';
import { PriceTable } from './prices.js';
import { ProviderRegistry } from './provider-registry.js';
import { LatencyTrackerService } from './latency-tracker.service.js';
import { ProviderControlsService } from './provider-controls.service.js';

/**
 * The LLM gateway. No controllers: the worker imports it to run agents, the API to validate model
 * references when tasks are created. Redis and config come from the global core modules.
 */
@Module({
  imports: [MetricsCoreModule],
  providers: [
    {
      provide: PriceTable,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AllConfig, true>) => new PriceTable(config.get('llm', { infer: true }).prices),
    },
    ModelRouter,
    ProviderRegistry,
    CircuitBreakerService,
    LlmCallHooks,
    LatencyTrackerService,
    ProviderControlsService,
    LlmGatewayService,
  ],
  exports: [
    LlmGatewayService,
    LlmCallHooks,
    ModelRouter,
    PriceTable,
    CircuitBreakerService,
    ProviderRegistry,
    LatencyTrackerService,
    ProviderControlsService,
  ],
})
export class LlmModule {}
