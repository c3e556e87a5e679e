import { Injectable } from '@nestjs/common';
import { LlmGatewayService } from '#src/agents/llm/llm-gateway.service.js';
import { DomainError } from '#src/common/errors.js';
import { ModelRefValidator } from './model-ref.validator.js';

/** Model overrides are checked by the gateway that will route them: unknown provider or model → 400. */
@Injectable()
export class GatewayModelRefValidator extends ModelRefValidator {
  constructor(private readonly gateway: LlmGatewayService) {
    super();
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
