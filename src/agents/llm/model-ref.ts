import { UnknownModelError } from './llm.errors.js';
import { ModelRef, PROVIDERS, ProviderName } from './llm.types.js';
import { PriceTable, PROVIDER_DEFAULT_MODELS } from './prices.js';

export interface ResolvedModel {
  provider: ProviderName;
  model: string;
}

/**
 * `provider:model`, or a bare provider name meaning its default model. Model names may contain
 * ':' themselves (Ollama's `qwen2.5-coder:7b`), so the split is at the first one. A model must be
 * priced (built-in table or LLM_PRICES) unless it is local.
 */
export function parseModelRef(ref: ModelRef, prices: PriceTable, localModel?: string): ResolvedModel {
  const trimmed = ref.trim();
  const colon = trimmed.indexOf(':');
  const providerName = colon === -1 ? trimmed : trimmed.slice(0, colon);
  let model = colon === -1 ? '' : trimmed.slice(colon + 1).trim();
  if (!(PROVIDERS as readonly string[]).includes(providerName)) {
    throw new UnknownModelError(ref, `unknown provider "${providerName}" (known: ${PROVIDERS.join(', ')})`);
  }
  const provider = providerName as ProviderName;
  if (!model) {
    model = provider === 'local' ? (localModel ?? '') : PROVIDER_DEFAULT_MODELS[provider];
    if (!model) throw new UnknownModelError(ref, 'no model given and LOCAL_LLM_MODEL is not set');
  }
  if (!prices.has(provider, model)) {
    throw new UnknownModelError(ref, `unknown ${provider} model "${model}" (add its prices to LLM_PRICES to use it)`);
  }
  return { provider, model };
}
