import * as sdk from '@opentelemetry/sdk-trace';
import { isProbe, samplerFromEnv } from './tracing.js';

describe('tracing configuration', () => {
  it('recognises the orchestrator probes and nothing else', () => {
    for (const url of [
      '/api/v1/health/live',
      '/api/v1/health/ready',
      '/api/v1/health/ready?x=1',
      '/api/v1/health/live/',
    ])
      expect(isProbe(url)).toBe(true);
    for (const url of [
      '/api/v1/health/status',
      '/api/v1/health/liveness',
      '/api/v1/tasks',
      '/health/live',
      '/api/v1/tasks?next=/api/v1/health/live',
      undefined,
    ])
      expect(isProbe(url)).toBe(false);
  });

  it('builds the sampler OTEL_TRACES_SAMPLER names, parent-based always-on by default', () => {
    const describe = (env: Record<string, string>) => samplerFromEnv(env, sdk).toString();
    expect(describe({})).toBe(new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }).toString());
    expect(describe({ OTEL_TRACES_SAMPLER: 'always_off' })).toBe(new sdk.AlwaysOffSampler().toString());
    expect(describe({ OTEL_TRACES_SAMPLER: 'always_on' })).toBe(new sdk.AlwaysOnSampler().toString());
    expect(describe({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toBe(
      new sdk.TraceIdRatioBasedSampler(0.25).toString(),
    );
    expect(describe({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })).toBe(
      new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(0.1) }).toString(),
    );
    // An argument out of range is the whole ratio (the configuration refuses it at start).
    expect(describe({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' })).toBe(
      new sdk.TraceIdRatioBasedSampler(1).toString(),
    );
  });

  it('a ratio sampler really drops the share of root traces it is told to', () => {
    const sampler = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, sdk);
    const decision = sampler.shouldSample({} as never, '0af7651916cd43dd8448eb211c80319c', 'GET', 0, {}, []);
    expect(decision.decision).toBe(sdk.SamplingDecision.NOT_RECORD);
  });
});
