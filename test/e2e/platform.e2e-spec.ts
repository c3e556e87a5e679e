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
});
