import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { PROVIDERS, type ProviderName } from './llm.types.js';
import type { LlmProvider } from './providers/llm-provider.js';
import { AnthropicProvider } from './providers/anthropic.provider.js';
import { GoogleProvider } from './providers/google.provider.js';
import { OpenAiProvider } from './providers/openai.provider.js';

/** One SDK client per configured provider, built on first use and kept (they pool connections). */
@Injectable()
export class ProviderRegistry {
  private readonly logger = new Logger(ProviderRegistry.name);
  private readonly clients = new Map<ProviderName, LlmProvider>();

  constructor(private readonly config: ConfigService<AllConfig, true>) {}

  get(name: ProviderName): LlmProvider | undefined {
    const existing = this.clients.get(name);
    if (existing) return existing;
    const settings = this.config.get('llm', { infer: true }).providers[name];
    if (!settings.enabled) return undefined;
    const created = this.create(name, settings);
    if (created) this.clients.set(name, created);
    return created;
  }

  /**
   * Loads the SDK of every configured provider. A worker calls this before it takes jobs: an SDK
   * import costs a few hundred milliseconds of main-thread time, which inside a run would be spent
   * while the job's lock must be renewed. An import that fails is logged and tried again on the call.
   */
  async prepareAll(): Promise<void> {
    await Promise.all(
      PROVIDERS.map(async (name) => {
        try {
          await this.get(name)?.prepare();
        } catch (error) {
          this.logger.warn({ err: error }, `could not load the ${name} SDK; it is tried again on the first call`);
        }
      }),
    );
  }

  private create(name: ProviderName, settings: { apiKey?: string; baseUrl?: string }): LlmProvider {
    switch (name) {
      case 'openai':
      case 'local':
      case 'openrouter':
        return new OpenAiProvider(name, settings);
      case 'anthropic':
        return new AnthropicProvider(settings);
      case 'google':
        return new GoogleProvider(settings);
    }
  }
}
