import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { DataSource } from 'typeorm';
import { createUserRow, fakeLlmEnv } from '../support/llm.js';
import { createTestApp, TestApp } from '../support/test-app.js';

describe('GET /metrics (Prometheus)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  const token = 'scrape-token-for-tests';

  beforeAll(async () => {
    fake = await startFakeLlm();
    t = await createTestApp({ env: fakeLlmEnv(fake, { METRICS_TOKEN: token }) });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it('is served on the root path behind the bearer token', async () => {
    await t.http().get('/metrics').expect(401);
    const wrong = await t.http().get('/metrics').set('Authorization', 'Bearer nope').expect(401);
    expect(wrong.body.code).toBe('INVALID_METRICS_TOKEN');
    const ok = await t.http().get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    expect(ok.headers['content-type']).toContain('text/plain');
    expect(ok.text).toContain('quorum_process_cpu_user_seconds_total');
  });

  it('counts each answered request once by route template, and none of other servers in the process', async () => {
    const scrape = async () =>
      (await t.http().get('/metrics').set('Authorization', `Bearer ${token}`).expect(200)).text;
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const byId = 'quorum_http_requests_total{method="GET",route="/api/v1/tasks/:id",status="401"}';
    const byIdTime = 'quorum_http_request_duration_seconds_count{method="GET",route="/api/v1/tasks/:id"}';
    const unmatched = 'quorum_http_requests_total{method="GET",route="unmatched",status="404"}';
    const unmatchedOk = 'quorum_http_requests_total{method="GET",route="unmatched",status="200"}';
    const before = await scrape();
    await t.http().get('/api/v1/tasks/00000000-0000-4000-8000-000000000001').expect(401);
    await t.http().get('/api/v1/tasks/00000000-0000-4000-8000-000000000002').expect(401);
    await t.http().get('/api/v1/no-such-route').expect(404);
    await t.http().get('/no-such-root').expect(404);
    await fetch(`${fake.url}/v1/models`); // the fake LLM server runs in this process too
    const after = await scrape();
    expect(value(after, byId) - value(before, byId)).toBe(2);
    expect(value(after, byIdTime) - value(before, byIdTime)).toBe(2);
    expect(value(after, unmatched) - value(before, unmatched)).toBe(2);
    expect(value(after, unmatchedOk)).toBe(value(before, unmatchedOk));
    expect(after).not.toContain('*path');
  });

  it('exposes request, queue, LLM call, token, cost and breaker-state series', async () => {
    await t.http().get('/api/v1/health/live').expect(200);
    fake.script('gpt-4o', { text: 'hi', usage: { input: 100, output: 10 } });
    await t.app.get(LlmGatewayService).call({
      context: { userId: await createUserRow(t.app.get(DataSource)), agent: 'planner' },
      messages: [{ role: 'user', content: 'hello' }],
    });
    const { text } = await t.http().get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    expect(text).toMatch(/quorum_http_requests_total\{method="GET",route="\/api\/v1\/health\/live",status="200"\} \d+/);
    expect(text).toMatch(/quorum_queue_jobs\{queue="agent-runs",state="waiting"\} 0/);
    expect(text).toMatch(
      /quorum_llm_calls_total\{provider="openai",model="gpt-4o",agent="planner",outcome="success"\} [1-9]/,
    );
    expect(text).toMatch(/quorum_llm_tokens_total\{provider="openai",model="gpt-4o",kind="input"\} [1-9]/);
    expect(text).toMatch(/quorum_llm_cost_usd_total\{provider="openai",model="gpt-4o"\} 0\.00035/);
    expect(text).toMatch(/quorum_llm_circuit_state\{provider="openai"\} 0/);
    expect(text).toContain('quorum_llm_call_duration_seconds_bucket');
  });

  it('answers 404 when no METRICS_TOKEN is configured', async () => {
    const bare = await createTestApp();
    try {
      await bare.http().get('/metrics').expect(404);
    } finally {
      await bare.close();
    }
  });
});
