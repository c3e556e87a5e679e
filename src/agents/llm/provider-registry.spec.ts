import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { ProviderRegistry } from './provider-registry.js';
import { AnthropicProvider } from './providers/anthropic.provider.js';
import { GoogleProvider } from './providers/google.provider.js';
import { OpenAiProvider } from './providers/openai.provider.js';

function registry(enabled: {
  openai?: boolean;
  anthropic?: boolean;
  google?: boolean;
  local?: boolean;
}): ProviderRegistry {
  const providers = {
    openai: { baseUrl: 'http://127.0.0.1:9/v1', enabled: enabled.openai ?? false },
    anthropic: { baseUrl: 'http://127.0.0.1:9', enabled: enabled.anthropic ?? false },
    google: { baseUrl: 'http://127.0.0.1:9', enabled: enabled.google ?? false },
    local: { baseUrl: 'http://127.0.0.1:9/v1', enabled: enabled.local ?? false },
    openrouter: { baseUrl: 'http://127.0.0.1:9/v1', enabled: false },
  };
  const config = { get: () => ({ providers }) } as unknown as ConfigService<AllConfig, true>;
  return new ProviderRegistry(config);
}

describe('ProviderRegistry', () => {
  afterEach(() => jest.restoreAllMocks());

  it('gives no client for a provider that is not configured', () => {
    const providers = registry({ openai: true });
    expect(providers.get('openai')).toBeInstanceOf(OpenAiProvider);
    expect(providers.get('openai')).toBe(providers.get('openai'));
    expect(providers.get('anthropic')).toBeUndefined();
  });

  it('prepares the configured providers only, and a real SDK loads', async () => {
    const openai = jest.spyOn(OpenAiProvider.prototype, 'prepare');
    const anthropic = jest.spyOn(AnthropicProvider.prototype, 'prepare');
    const google = jest.spyOn(GoogleProvider.prototype, 'prepare');
    await registry({ openai: true, local: true, google: true }).prepareAll();
    expect(openai).toHaveBeenCalledTimes(2); // openai and local share the adapter
    expect(google).toHaveBeenCalledTimes(1);
    expect(anthropic).not.toHaveBeenCalled();
    await expect(openai.mock.results[0].value).resolves.toBeUndefined();
  });

  it('does not fail start-up when an SDK cannot load', async () => {
    jest.spyOn(OpenAiProvider.prototype, 'prepare').mockRejectedValue(new Error('import failed'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await expect(registry({ openai: true }).prepareAll()).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('could not load the openai SDK'));
  });
});
