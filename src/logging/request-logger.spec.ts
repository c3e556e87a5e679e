import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { createRootLogger } from './logging.module.js';
import { loggableUrl, requestContext, requestLogger } from './request-logger.js';

function memoryLogger(level: 'info' | 'warn' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const root = createRootLogger({ logLevel: level, production: true, nodeEnv: 'production' }, stream);
  return { root, lines };
}

describe('root logger', () => {
  it('redacts secrets at the top level and one level down in the containers the code logs', () => {
    const { root, lines } = memoryLogger();
    root.info(
      {
        password: 'p1',
        token: 't1',
        body: { newPassword: 'p2', email: 'a@example.test' },
        err: { authorization: 'Bearer x', message: 'boom' },
        headers: { cookie: 'sid=1' },
        changes: { apiKey: 'k1' },
      },
      'something happened',
    );
    const line = lines[0];
    expect(line).toMatchObject({
      password: '[Redacted]',
      token: '[Redacted]',
      body: { newPassword: '[Redacted]', email: 'a@example.test' },
      err: { authorization: '[Redacted]', message: 'boom' },
      headers: { cookie: '[Redacted]' },
      changes: { apiKey: '[Redacted]' },
    });
    expect(JSON.stringify(lines)).not.toMatch(/p1|t1|p2|Bearer x|sid=1|k1/);
  });

  it('puts the request id of the running request on every line, and none outside one', () => {
    const { root, lines } = memoryLogger();
    requestContext.run({ reqId: 'req-1' }, () => root.warn('inside'));
    root.warn('outside');
    expect(lines[0]).toMatchObject({ reqId: 'req-1', msg: 'inside' });
    expect(lines[1]).not.toHaveProperty('reqId');
  });

  it('gives each line of a request only its own fields and the request id', () => {
    const { root, lines } = memoryLogger();
    const context = { reqId: 'req-2' };
    requestContext.run(context, () => {
      // nestjs-pino passes a Logger's context in each line's own fields, as here.
      root.info({ context: 'MailService', text: 'verify with token abc' }, 'mail sent');
      root.info({ method: 'password' }, 'signed in');
      root.info('request completed');
    });
    expect(lines[0]).toMatchObject({ reqId: 'req-2', context: 'MailService', text: 'verify with token abc' });
    expect(lines[1]).toMatchObject({ reqId: 'req-2', method: 'password' });
    expect(lines[1]).not.toHaveProperty('context');
    expect(lines[1]).not.toHaveProperty('text');
    expect(lines[2]).toEqual(expect.objectContaining({ reqId: 'req-2', msg: 'request completed' }));
    expect(Object.keys(lines[2]).sort()).toEqual(['hostname', 'level', 'msg', 'pid', 'reqId', 'service', 'time']);
    expect(context).toEqual({ reqId: 'req-2' });
  });
});

describe('loggableUrl', () => {
  it('redacts credential-like query values and keeps the rest', () => {
    expect(loggableUrl('/oauth/github/callback?code=abc&state=xyz&x=1')).toBe(
      '/oauth/github/callback?code=[Redacted]&state=[Redacted]&x=1',
    );
    expect(loggableUrl('/a?Access_Token=s&page=2&flag')).toBe('/a?Access_Token=[Redacted]&page=2&flag');
    expect(loggableUrl('/a?%74oken=s')).toBe('/a?%74oken=[Redacted]');
    expect(loggableUrl('/a?%zz=1')).toBe('/a?%zz=1');
    expect(loggableUrl('/plain')).toBe('/plain');
    expect(loggableUrl(undefined)).toBeUndefined();
  });
});

describe('requestLogger', () => {
  async function serve(level: 'info' | 'warn' = 'info') {
    const { root, lines } = memoryLogger(level);
    const app = express();
    app.use(requestLogger(root));
    app.get('/api/v1/health/live', (_req, res) => void res.json({ status: 'ok' }));
    app.get('/work', (_req, res) => {
      root.info('working');
      res.json({ done: true });
    });
    app.get('/boom', (_req, res) => void res.status(503).json({}));
    app.get('/hang', () => undefined);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    return { url, lines, settle, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('echoes a safe client request id, replaces an unsafe one, and logs one line per request', async () => {
    const s = await serve();
    try {
      const echoed = await fetch(`${s.url}/work?token=secret&page=2`, { headers: { 'x-request-id': 'client-1' } });
      expect(echoed.headers.get('x-request-id')).toBe('client-1');
      const replaced = await fetch(`${s.url}/work`, { headers: { 'x-request-id': 'bad id with spaces' } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      await s.settle();
      const inside = s.lines.filter((line) => line.msg === 'working');
      expect(inside.map((line) => line.reqId)).toEqual(['client-1', replaced.headers.get('x-request-id')]);
      const completed = s.lines.filter((line) => line.msg === 'request completed');
      expect(completed).toHaveLength(2);
      expect(completed[0]).toMatchObject({
        level: 30,
        reqId: 'client-1',
        req: { method: 'GET', url: '/work?token=[Redacted]&page=2' },
        res: { statusCode: 200 },
      });
      expect(typeof completed[0].responseTime).toBe('number');
      expect(JSON.stringify(s.lines)).not.toContain('secret');
    } finally {
      await s.close();
    }
  });

  it('logs 5xx answers at error level and leaves health probes out', async () => {
    const s = await serve();
    try {
      await fetch(`${s.url}/boom`);
      const live = await fetch(`${s.url}/api/v1/health/live`);
      expect(live.headers.get('x-request-id')).toBeTruthy();
      await s.settle();
      expect(s.lines).toHaveLength(1);
      expect(s.lines[0]).toMatchObject({ level: 50, res: { statusCode: 503 }, msg: 'request completed' });
    } finally {
      await s.close();
    }
  });

  it('records a request the client abandoned before the answer', async () => {
    const s = await serve();
    try {
      const controller = new AbortController();
      const pending = fetch(`${s.url}/hang`, { signal: controller.signal }).catch((error: Error) => error);
      await s.settle();
      controller.abort();
      expect(await pending).toMatchObject({ name: 'AbortError' });
      await s.settle();
      expect(s.lines).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'request aborted by the client',
          req: { method: 'GET', url: '/hang' },
        }),
      ]);
    } finally {
      await s.close();
    }
  });

  it('writes nothing below the configured level', async () => {
    const s = await serve('warn');
    try {
      await fetch(`${s.url}/work`);
      await s.settle();
      expect(s.lines).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
