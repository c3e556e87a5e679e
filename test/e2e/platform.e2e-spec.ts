import { createTestApp, TestApp } from '../support/test-app.js';

describe('platform (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves liveness and readiness', async () => {
    await t.http().get('/api/v1/health/live').expect(200, { status: 'ok' });
    const ready = await t.http().get('/api/v1/health/ready').expect(200);
    expect(ready.body.checks.database.status).toBe('up');
  });

  it('answers the JSON API with the security headers that matter for JSON, uncacheable and without an ETag', async () => {
    for (const path of ['/api/v1/health/live', '/api/v1/users/me', '/api/v1/no-such-route']) {
      const res = await t.http().get(path);
      expect(res.headers).toMatchObject({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cross-origin-resource-policy': 'same-origin',
        'cache-control': 'no-store',
      });
      expect(res.headers).not.toHaveProperty('etag');
      expect(res.headers).not.toHaveProperty('x-powered-by');
      // No CORS_ORIGINS configured: no cross-origin access is granted.
      expect(res.headers).not.toHaveProperty('access-control-allow-origin');
    }
  });

  it('serves the Swagger UI page with a CSP that lets its own scripts run', async () => {
    const page = await t.http().get('/api/docs/').redirects(1).expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    const doc = await t.http().get('/api/docs-json').expect(200);
    expect(doc.body.openapi).toBe('3.1.0');
    // The UI's own files come from the same docs router, with the same headers.
    const css = await t.http().get('/api/docs/swagger-ui.css').expect(200);
    expect(css.headers['content-type']).toMatch(/text\/css/);
    expect(css.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");
    const init = await t.http().get('/api/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('"openapi": "3.1.0"');
  });

  it.each(['/api/docs/no-such-file.js', '/nope', '/api/v1x/health/live', '/metricsx', '/oauth'])(
    'answers %s, which nothing serves, with a 404 problem',
    async (path) => {
      const res = await t.http().post(path).set('X-Request-Id', 'lost-1').send({ a: 1 }).expect(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND', requestId: 'lost-1' });
      expect(res.body.detail).toBe(`No route for POST ${path}.`);
    },
  );
});

describe('platform (HTTP) with CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.test' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('grants a configured origin credentialed access, exposes the request id, and nobody else', async () => {
    const preflight = await t
      .http()
      .options('/api/v1/auth/login')
      .set('Origin', 'https://app.example.test')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.test');
    expect(preflight.headers['access-control-allow-credentials']).toBe('true');
    const simple = await t.http().get('/api/v1/health/live').set('Origin', 'https://app.example.test').expect(200);
    expect(simple.headers['access-control-expose-headers']).toContain('X-Request-Id');
    const other = await t.http().get('/api/v1/health/live').set('Origin', 'https://evil.example.test').expect(200);
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');
  });
});
