import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Max, MaxLength } from 'class-validator';
import { Public } from '../../src/common/decorators/public.decorator.js';
import { ConflictError } from '../../src/common/errors.js';
import { createTestApp, TestApp } from '../support/test-app.js';

class EchoDto {
  @IsString()
  @MaxLength(20)
  name!: string;

  @IsInt()
  @Max(10)
  count!: number;
}

/** Routes that fail on purpose, mounted beside the real app. */
@Public()
@Controller('test-errors')
class FailingController {
  @Post('echo')
  echo(@Body() body: EchoDto) {
    return body;
  }

  @Get('conflict')
  conflict() {
    throw new ConflictError('THING_EXISTS', 'That thing exists already.');
  }

  @Get('boom')
  boom() {
    throw new Error('database password is hunter2 at /srv/secret.ts:42');
  }
}

@Module({ controllers: [FailingController] })
class FailingModule {}

const PROBLEM = /^application\/problem\+json/;

describe('problem details, request ids, limits (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ imports: [FailingModule], env: { BODY_LIMIT: '2kb' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('400: names each invalid and unknown field', async () => {
    const res = await t
      .http()
      .post('/api/v1/test-errors/echo')
      .send({ name: 'x'.repeat(21), count: 11, role: 'admin' })
      .expect(400)
      .expect('Content-Type', PROBLEM);
    expect(res.body).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      title: 'Bad Request',
      instance: '/api/v1/test-errors/echo',
    });
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['count', 'name', 'role']);
    expect(res.body.errors.find((e: { field: string }) => e.field === 'role').message).toBe('is not an accepted field');
    expect(res.body.type).toMatch(/^https:\/\//);
  });

  it('400: one error per field: a missing field is "is required", a wrong one its most basic failed check', async () => {
    const missing = await t
      .http()
      .post('/api/v1/test-errors/echo')
      .send({})
      .expect(400)
      .expect('Content-Type', PROBLEM);
    expect(missing.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', title: 'Bad Request' });
    expect(missing.body.requestId).toBe(missing.headers['x-request-id']);
    expect(missing.body.errors).toEqual([
      { field: 'name', message: 'name is required' },
      { field: 'count', message: 'count is required' },
    ]);
    const nulls = await t.http().post('/api/v1/test-errors/echo').send({ name: null, count: 3 }).expect(400);
    expect(nulls.body.errors).toEqual([{ field: 'name', message: 'name is required' }]);
    // A number where a string goes fails IsString and MaxLength: the type is what is said.
    const wrong = await t.http().post('/api/v1/test-errors/echo').send({ name: 7, count: 'many' }).expect(400);
    expect(wrong.body.errors).toEqual([
      { field: 'name', message: 'name must be a string' },
      { field: 'count', message: 'count must be an integer number' },
    ]);
  });

  it('400 on real routes: registering without a password, signing in with nothing', async () => {
    const register = await t.http().post('/api/v1/auth/register').send({ email: 'new@example.test' }).expect(400);
    expect(register.body.errors).toEqual([{ field: 'password', message: 'password is required' }]);
    const login = await t.http().post('/api/v1/auth/login').send({}).expect(400);
    expect(login.body.errors).toEqual([
      { field: 'email', message: 'email is required' },
      { field: 'password', message: 'password is required' },
    ]);
    // Empty is not missing: one error, the emptiness.
    const empty = await t.http().post('/api/v1/auth/login').send({ email: 'a@example.test', password: '' }).expect(400);
    expect(empty.body.errors).toEqual([{ field: 'password', message: 'password should not be empty' }]);
  });

  it('400: malformed JSON', async () => {
    const res = await t
      .http()
      .post('/api/v1/test-errors/echo')
      .set('Content-Type', 'application/json')
      .send('{"name":')
      .expect(400);
    expect(res.body.code).toBe('MALFORMED_JSON');
  });

  it('accepts a valid body', async () => {
    await t
      .http()
      .post('/api/v1/test-errors/echo')
      .send({ name: 'ok', count: 3 })
      .expect(201, { name: 'ok', count: 3 });
  });

  it('404: unknown route', async () => {
    const res = await t.http().get('/api/v1/nowhere').expect(404).expect('Content-Type', PROBLEM);
    expect(res.body).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('405: known path, wrong method, with Allow', async () => {
    const res = await t.http().delete('/api/v1/health/live').expect(405).expect('Content-Type', PROBLEM);
    expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('409: a domain error keeps its code', async () => {
    const res = await t.http().get('/api/v1/test-errors/conflict').expect(409);
    expect(res.body).toMatchObject({ code: 'THING_EXISTS', detail: 'That thing exists already.' });
  });

  it('413: body over the limit', async () => {
    const res = await t
      .http()
      .post('/api/v1/test-errors/echo')
      .send({ name: 'x'.repeat(4096), count: 1 })
      .expect(413)
      .expect('Content-Type', PROBLEM);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('500: hides the internal message behind the request id', async () => {
    const res = await t.http().get('/api/v1/test-errors/boom').expect(500).expect('Content-Type', PROBLEM);
    expect(res.body.code).toBe('INTERNAL_ERROR');
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|secret\.ts|stack/);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('echoes a client request id and makes one otherwise', async () => {
    const echoed = await t.http().get('/api/v1/nowhere').set('X-Request-Id', 'client-abc.123').expect(404);
    expect(echoed.headers['x-request-id']).toBe('client-abc.123');
    expect(echoed.body.requestId).toBe('client-abc.123');
    const made = await t.http().get('/api/v1/health/live').expect(200);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await t.http().get('/api/v1/health/live').set('X-Request-Id', 'bad id\twith spaces').expect(200);
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers', async () => {
    const res = await t.http().get('/api/v1/health/live').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('publishes OpenAPI 3.1 and Swagger UI', async () => {
    const doc = await t.http().get('/api/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.body.paths)).toContain('/api/v1/health/ready');
    await t.http().get('/api/docs').expect(200).expect('Content-Type', /html/);
  });
});

describe('rate limiting (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      imports: [FailingModule],
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '3' },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('429 with Retry-After in problem format after the limit', async () => {
    for (let i = 0; i < 3; i++) await t.http().get('/api/v1/test-errors/conflict').expect(409);
    const res = await t.http().get('/api/v1/test-errors/conflict').expect(429).expect('Content-Type', PROBLEM);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // Health stays reachable for orchestrators whatever the limits.
    await t.http().get('/api/v1/health/live').expect(200);
  });
});
