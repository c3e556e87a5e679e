/**
 * What the council needs from the LLM gateway (issue 4's LlmGatewayService): make a metered call,
 * resolve an agent's route, and price a worst case for the council cost cap. CouncilModule binds it
 * to the gateway; unit tests bind a scripted double.
 */
import type { AgentName, LlmCallRequest, LlmResult } from '#src/agents/llm/llm.types.js';

export interface ResolvedModel {
  provider: string; // a ProviderName when the route resolves; a string because routes come from configuration
  model: string;
}

export abstract class CouncilLlm {
  abstract call(request: LlmCallRequest): Promise<LlmResult>;
  abstract resolveModel(agent: AgentName, override?: string): ResolvedModel;
  /** Worst-case USD (decimal string) of a call with these token counts on this model. */
  abstract worstCaseUsd(model: ResolvedModel, inputTokens: number, maxOutputTokens: number): string;
}
