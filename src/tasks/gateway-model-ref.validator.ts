import { Injectable } from '@nestjs/common';
import { LlmGatewayService } from '#src/agents/llm/llm-gateway.service.js';
import type { AgentName } from '#src/agents/llm/llm.types.js';
import { ModelRouter } from '#src/agents/llm/model-router.js';
import { DomainError } from '#src/common/errors.js';
import { ModelRefValidator } from './model-ref.validator.js';

/** Model overrides are checked by the gateway that will route them: unknown provider or model → 400. */
@Injectable()
export class GatewayModelRefValidator extends ModelRefValidator {
  constructor(private readonly gateway: LlmGatewayService) {
    super();
  }

  checkProviders(routes: Array<{ agent: AgentName; override?: string }>): string | null {
    const unserved = this.gateway.unservedModels(routes);
    if (unserved.length === 0) return null;
    const models = unserved.map((m) => `${m.provider}:${m.model}`).join(', ');
    const hints = [...new Set(unserved.map((m) => ModelRouter.enableHint(m.provider)))].join('; ');
    return (
      `No configured model provider can serve this task (it needs ${models}, and no configured fallback in LLM_FALLBACK_ORDER can stand in): ` +
      `set ${hints}, or point a base URL at the fake model (\`npm run fake-llm\`, then OPENAI_BASE_URL=http://127.0.0.1:4010/openai/v1; docs/llm.md), and restart.`
    );
  }

  check(ref: string): string | null {
    try {
      this.gateway.assertModelRef(ref);
      return null;
    } catch (error) {
      if (error instanceof DomainError) return error.message;
      throw error;
    }
  }
}
