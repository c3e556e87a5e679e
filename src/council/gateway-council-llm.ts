import { Injectable } from '@nestjs/common';
import { LlmGatewayService } from '#src/agents/llm/llm-gateway.service.js';
import type { AgentName, LlmCallRequest, LlmResult, ProviderName } from '#src/agents/llm/llm.types.js';
import { PriceTable } from '#src/agents/llm/prices.js';
import { CouncilLlm, type ResolvedModel } from './council-llm.port.js';

/** The council's view of the LLM gateway: calls, routes (`judge.<name>` → `judge` → default) and prices. */
@Injectable()
export class GatewayCouncilLlm extends CouncilLlm {
  constructor(
    private readonly gateway: LlmGatewayService,
    private readonly prices: PriceTable,
  ) {
    super();
  }

  call(request: LlmCallRequest): Promise<LlmResult> {
    return this.gateway.call(request);
  }

  resolveModel(agent: AgentName, override?: string): ResolvedModel {
    return this.gateway.resolveModel(agent, override);
  }

  worstCaseUsd(model: ResolvedModel, inputTokens: number, maxOutputTokens: number): string {
    return this.prices.cost(model.provider as ProviderName, model.model, {
      inputTokens,
      outputTokens: maxOutputTokens,
      cachedInputTokens: 0,
    });
  }
}
