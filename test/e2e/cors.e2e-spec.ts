import { createTestApp, type TestApp } from '../support/test-app.js';

function preflight(t: TestApp, origin: string) {
  return t
    .http()
    .options('/api/v1/tasks')
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', 'content-type,x-csrf-token');
}

describe('CORS in development: WEB_APP_URL is let in without configuration (HTTP)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { NODE_ENV: 'development', WEB_APP_URL: 'http://localhost:5173/app/' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers the local app's preflight with its origin and credentials", async () => {
    const res = await preflight(t, 'http://localhost:5173').expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-headers']).toMatch(/x-csrf-token/i);
    const simple = await t.http().get('/api/v1/health/live').set('Origin', 'http://localhost:5173').expect(200);
    expect(simple.headers['access-control-expose-headers']).toBe('X-Request-Id,Retry-After,Location');
  });

  it('answers a preflight from another origin with a problem naming CORS_ORIGINS', async () => {
    const res = await preflight(t, 'http://localhost:3001').expect(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.body.code).toBe('CORS_ORIGIN_NOT_ALLOWED');
    expect(res.body.detail).toBe(
      'The origin http://localhost:3001 may not call this API from a browser: add it to CORS_ORIGINS (comma-separated); allowed now: http://localhost:5173.',
    );
  });
});

describe('CORS_ORIGINS replaces the development default (HTTP)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { NODE_ENV: 'development', CORS_ORIGINS: 'https://app.example.test' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('lets in only the listed origin', async () => {
    const ok = await preflight(t, 'https://app.example.test').expect(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.test');
    const local = await preflight(t, 'http://localhost:5173').expect(403);
    expect(local.body.detail).toContain('allowed now: https://app.example.test.');
  });
});

describe('CORS in production without CORS_ORIGINS (HTTP)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        NODE_ENV: 'production',
        JWT_SECRET: 'a-production-grade-secret-of-enough-length-0123456789',
        ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        SMTP_URL: 'smtp://127.0.0.1:1',
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('grants no cross-origin access, and the preflight says which variable to set', async () => {
    const res = await preflight(t, 'http://localhost:5173').expect(403);
    expect(res.body.detail).toBe(
      'The origin http://localhost:5173 may not call this API from a browser: add it to CORS_ORIGINS (comma-separated); none is allowed now.',
    );
    const simple = await t.http().get('/api/v1/health/live').set('Origin', 'http://localhost:5173').expect(200);
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });
});
