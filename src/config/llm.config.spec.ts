import { ConfigError } from './config.error.js';
import { llmConfig } from './llm.config.js';

describe('llm config', () => {
  const saved = { ...process.env };
  const load = (env: Record<string, string>) => {
    for (const key of Object.keys(process.env))
      if (/^(OPENAI|ANTHROPIC|GOOGLE|LOCAL_LLM|LLM_|AGENT_MODELS|DEFAULT_MODEL|METRICS_TOKEN)/.test(key))
        delete process.env[key];
    Object.assign(process.env, env);
    return llmConfig();
  };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('parses routing, fallback order, prices and thresholds', () => {
    const config = load({
      OPENAI_API_KEY: 'sk',
      LOCAL_LLM_BASE_URL: 'http://127.0.0.1:11434/v1',
      LOCAL_LLM_MODEL: 'qwen2.5-coder:7b',
      AGENT_MODELS: 'planner=openai:gpt-4o, coder=local , judge=openai:my-model',
      LLM_PRICES: '{"openai:my-model":{"input":0.5,"output":"1.25"}}',
      LLM_FALLBACK_ORDER: 'local,anthropic:claude-haiku-4-5',
      LLM_BREAKER_FAILURE_THRESHOLD: '3',
    });
    expect(config.agentModels).toEqual({ planner: 'openai:gpt-4o', coder: 'local', judge: 'openai:my-model' });
    expect(config.defaultModel).toBe('openai:gpt-4o');
    expect(config.fallbackOrder).toEqual(['local', 'anthropic:claude-haiku-4-5']);
    expect(config.prices).toEqual({ 'openai:my-model': { input: '0.5', output: '1.25' } });
    expect(config.providers.openai).toMatchObject({ enabled: true, apiKey: 'sk' });
    expect(config.providers.anthropic.enabled).toBe(false);
    expect(config.providers.local).toMatchObject({ enabled: true, baseUrl: 'http://127.0.0.1:11434/v1' });
    expect(config.breaker).toEqual({ failureThreshold: 3, cooldownMs: 30_000, cacheMs: 1_000 });
    expect(config.budgetLimitCacheMs).toBe(10_000);
    expect(config.timeoutMs).toBe(120_000);
  });

  it('defaults the model to the first configured provider', () => {
    expect(load({ LOCAL_LLM_BASE_URL: 'http://127.0.0.1:8000/v1', LOCAL_LLM_MODEL: 'demo' }).defaultModel).toBe(
      'local:demo',
    );
    expect(load({ ANTHROPIC_API_KEY: 'k' }).defaultModel).toBe('anthropic:claude-sonnet-4-6');
  });

  it('names the variable of an unknown provider or model', () => {
    expect(() => load({ AGENT_MODELS: 'coder=acme:x' })).toThrow(
      new ConfigError(
        'AGENT_MODELS',
        'Model "acme:x" is not usable: unknown provider "acme" (known: openai, anthropic, google, local, openrouter).',
      ),
    );
    expect(() => load({ DEFAULT_MODEL: 'openai:gpt-99' })).toThrow(ConfigError);
    expect(() => load({ LLM_FALLBACK_ORDER: 'anthropic,nope' })).toThrow(
      expect.objectContaining({ variable: 'LLM_FALLBACK_ORDER' }),
    );
    expect(() => load({ AGENT_MODELS: 'planner' })).toThrow(expect.objectContaining({ variable: 'AGENT_MODELS' }));
    expect(() => load({ DEFAULT_MODEL: 'local' })).toThrow(expect.objectContaining({ variable: 'DEFAULT_MODEL' }));
  });

  it('refuses malformed LLM_PRICES', () => {
    expect(() => load({ LLM_PRICES: 'not json' })).toThrow(expect.objectContaining({ variable: 'LLM_PRICES' }));
    expect(() => load({ LLM_PRICES: '{"m":{"input":1}}' })).toThrow(
      expect.objectContaining({ variable: 'LLM_PRICES' }),
    );
    expect(() => load({ LLM_PRICES: '{"m":{"input":-1,"output":1}}' })).toThrow(
      expect.objectContaining({ variable: 'LLM_PRICES' }),
    );
    expect(() => load({ LLM_PRICES: '{"m":{"input":1e-7,"output":1}}' })).toThrow(
      expect.objectContaining({ variable: 'LLM_PRICES' }),
    );
  });
});
