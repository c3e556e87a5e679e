import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DataSource } from 'typeorm';
// @ts-expect-error plain ESM JavaScript without types (tools/ is run by node directly)
import { handler as demoModel } from '../../tools/fake-llm-demo.mjs';
import { EVENT_TYPES } from '../../src/common/events.js';
import { registerUser, uniqueEmail } from '../support/auth.js';
import { startFakeGitHubOAuth, type FakeGitHubOAuth } from '../support/fake-github-oauth.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { freePort } from '../support/processes.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * A browser app on one origin (app.example.test) calling the API on another (api.example.test), in
 * Debian's headless Chromium: both names map to 127.0.0.1 through --host-resolver-rules.
 */
describe('the web client in a real browser (Chromium, two origins)', () => {
  let t: TestApp;
  let pages: Server;
  let browser: Browser;
  let page: Page;
  let api: string;
  let apiOrigin: string;
  let appOrigin: string;
  let github: FakeGitHubOAuth;
  let model: FakeLlm;

  beforeAll(async () => {
    // Every path of the app's origin serves the same empty page (the SPA shell), /oauth/complete included.
    pages = createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>'),
    );
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://app.example.test:${(pages.address() as AddressInfo).port}`;
    github = await startFakeGitHubOAuth();
    model = await startFakeLlm({ handler: demoModel });
    // The API's own address goes into PUBLIC_URL (the OAuth callback), so its port is chosen first.
    const apiPort = await freePort();
    apiOrigin = `http://api.example.test:${apiPort}`;
    t = await createTestApp({
      env: fakeLlmEnv(model, {
        CORS_ORIGINS: appOrigin,
        WEB_APP_URL: appOrigin,
        PUBLIC_URL: apiOrigin,
        GITHUB_CLIENT_ID: github.clientId,
        GITHUB_CLIENT_SECRET: github.clientSecret,
        GITHUB_AUTHORIZE_URL: `${github.url}/login/oauth/authorize`,
        GITHUB_TOKEN_URL: `${github.url}/login/oauth/access_token`,
        GITHUB_API_URL: github.url,
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      }),
    });
    await t.app.listen(apiPort, '127.0.0.1');
    api = `${apiOrigin}/api/v1`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--host-resolver-rules=MAP app.example.test 127.0.0.1, MAP api.example.test 127.0.0.1',
      ],
    });
    page = await browser.newPage();
    // What an app's API module would be: fetch with the API's cookies, JSON in and out, the CSRF header on unsafe calls.
    await page.addInitScript(() => {
      (globalThis as unknown as { quorum: unknown }).quorum = async (
        api: string,
        path: string,
        init: { method?: string; body?: unknown; csrf?: string } = {},
      ) => {
        const headers: Record<string, string> = {};
        if (init.body !== undefined) headers['Content-Type'] = 'application/json';
        if (init.csrf) headers['X-CSRF-Token'] = init.csrf;
        const res = await fetch(`${api}${path}`, {
          method: init.method ?? 'GET',
          credentials: 'include',
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
        });
        const text = await res.text();
        return {
          status: res.status,
          retryAfter: res.headers.get('Retry-After'),
          requestId: res.headers.get('X-Request-Id'),
          body: text ? JSON.parse(text) : null,
        };
      };
    });
    await page.goto(`${appOrigin}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await github?.close();
    await model?.close();
    await new Promise((resolve) => pages?.close(resolve));
  });

  it('signs in with cookies, is refused an unsafe request without the CSRF header and served with it, refreshes and logs out', async () => {
    const user = await registerUser(t);
    const outcome = await page.evaluate(
      async ({ api, email, password }) => {
        const call = async (path: string, init: RequestInit = {}) => {
          const res = await fetch(`${api}${path}`, { credentials: 'include', ...init });
          const text = await res.text();
          return {
            status: res.status,
            requestId: res.headers.get('X-Request-Id'),
            body: text ? JSON.parse(text) : null,
          };
        };
        const json = (body: unknown, csrf?: string) => ({
          headers: { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
          body: JSON.stringify(body),
        });
        const login = await call('/auth/login', { method: 'POST', ...json({ email, password, cookie: true }) });
        const csrf = login.body.csrfToken as string;
        const cookieVisible = (globalThis as unknown as { document: { cookie: string } }).document.cookie;
        const me = await call('/users/me');
        const without = await call('/users/me', { method: 'PATCH', ...json({ name: 'No header' }) });
        const withHeader = await call('/users/me', { method: 'PATCH', ...json({ name: 'From the browser' }, csrf) });
        const reloaded = await call('/auth/csrf');
        const refreshed = await call('/auth/refresh', { method: 'POST', ...json({}, csrf) });
        const logout = await call('/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
        const after = await call('/users/me');
        return { login, csrf, cookieVisible, me, without, withHeader, reloaded, refreshed, logout, after };
      },
      { api, email: user.email, password: user.password },
    );
    expect(outcome.login.status).toBe(200);
    expect(outcome.login.body.accessToken).toBeUndefined();
    expect(outcome.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The API host's cookies are out of the app's reach: the token had to come in the body.
    expect(outcome.cookieVisible).toBe('');
    expect(outcome.login.requestId).toMatch(/\S+/);
    expect(outcome.me).toMatchObject({ status: 200, body: { email: user.email } });
    expect(outcome.without).toMatchObject({ status: 403, body: { code: 'CSRF_TOKEN_INVALID' } });
    expect(outcome.withHeader).toMatchObject({ status: 200, body: { name: 'From the browser' } });
    expect(outcome.reloaded).toMatchObject({ status: 200, body: { csrfToken: outcome.csrf } });
    expect(outcome.refreshed).toMatchObject({ status: 200, body: { csrfToken: outcome.csrf } });
    expect(outcome.logout.status).toBe(204);
    expect(outcome.after.status).toBe(401);
  });

  it('executes a task and follows its run with EventSource(withCredentials) to the terminal event; without cookies, or as another user, no stream', async () => {
    const user = await registerUser(t);
    const other = await registerUser(t);
    const outcome = await page.evaluate(
      async ({ api, user, other, types }) => {
        const call = (globalThis as unknown as { quorum: QuorumCall }).quorum;
        const login = await call(api, '/auth/login', { method: 'POST', body: { ...user, cookie: true } });
        const csrf = login.body.csrfToken as string;
        const task = await call(api, '/tasks', {
          method: 'POST',
          csrf,
          body: { title: 'Add', description: 'Export add(a, b) from solution.js.', language: 'javascript' },
        });
        const execute = await call(api, `/tasks/${task.body.task.id}/execute`, { method: 'POST', csrf });
        const runId = execute.body.run.id as string;
        const url = `${api}/agents/runs/${runId}/stream`;

        /** Opens an EventSource and collects events until the terminal one, an error or a timeout. */
        const follow = (withCredentials: boolean) =>
          new Promise<{ events: Array<{ type: string; lastEventId: string; seq?: number }>; end: string }>(
            (resolve) => {
              const events: Array<{ type: string; lastEventId: string; seq?: number }> = [];
              const source = new EventSource(url, { withCredentials });
              const finish = (end: string) => {
                source.close();
                clearTimeout(timer);
                resolve({ events, end });
              };
              const timer = setTimeout(() => finish('timeout'), 90_000);
              for (const type of types) {
                source.addEventListener(type, (event) => {
                  const message = event as unknown as { data: string; lastEventId: string };
                  const data = JSON.parse(message.data) as { seq?: number };
                  events.push({ type, lastEventId: message.lastEventId, seq: data.seq });
                  if (['run.completed', 'run.failed', 'run.cancelled'].includes(type)) finish(type);
                });
              }
              // A refused stream (non-200) is an error with the source CLOSED: the browser does not retry it.
              source.onerror = () => {
                if (source.readyState === EventSource.CLOSED) finish('refused');
              };
            },
          );
        const anonymous = await follow(false);
        const streamed = await follow(true);
        const run = await call(api, `/agents/runs/${runId}`);
        const stored = await call(api, `/agents/runs/${runId}/events?limit=500`);
        await call(api, '/auth/logout', { method: 'POST', csrf });
        await call(api, '/auth/login', { method: 'POST', body: { ...other, cookie: true } });
        const foreign = await follow(true);
        const foreignFetch = await call(api, `/agents/runs/${runId}/stream`);
        return { runId, anonymous, streamed, run, stored, foreign, foreignFetch };
      },
      {
        api,
        user: { email: user.email, password: user.password },
        other: { email: other.email, password: other.password },
        types: [...EVENT_TYPES],
      },
    );
    expect(outcome.anonymous).toEqual({ events: [], end: 'refused' });
    expect({ end: outcome.streamed.end, error: outcome.run.body.error }).toEqual({
      end: 'run.completed',
      error: undefined,
    });
    expect(outcome.run).toMatchObject({ status: 200, body: { id: outcome.runId, status: 'completed' } });
    // What the browser saw is what the run stored, in order, each with its seq as the SSE id (deltas carry none).
    const numbered = outcome.streamed.events.filter((event) => event.type !== 'agent.delta');
    expect(numbered.map((event) => event.lastEventId)).toEqual(numbered.map((event) => String(event.seq)));
    const stored = (outcome.stored.body.items as Array<{ seq: number; type: string }>).map((event) => ({
      seq: event.seq,
      type: event.type,
    }));
    expect(numbered.map((event) => ({ seq: event.seq, type: event.type }))).toEqual(stored);
    expect(stored.map((event) => event.type)).toEqual(
      expect.arrayContaining(['run.started', 'agent.completed', 'tests.completed', 'run.completed']),
    );
    expect(outcome.foreign).toEqual({ events: [], end: 'refused' });
    expect(outcome.foreignFetch).toMatchObject({ status: 404, body: { code: 'RUN_NOT_FOUND' } });
  });

  it('reads Retry-After (and X-Request-Id) on a 429 from the page: CORS exposes them', async () => {
    const user = await registerUser(t);
    const outcome = await page.evaluate(
      async ({ api, email }) => {
        const call = (globalThis as unknown as { quorum: QuorumCall }).quorum;
        const answers = [];
        // LOGIN_MAX_FAILURES_PER_ACCOUNT is 3 here: the fourth attempt is refused whatever the password.
        for (let i = 0; i < 4; i++)
          answers.push(await call(api, '/auth/login', { method: 'POST', body: { email, password: `wrong-${i}` } }));
        return answers;
      },
      { api, email: user.email },
    );
    expect(outcome.slice(0, 3).map((answer) => answer.status)).toEqual([401, 401, 401]);
    const limited = outcome[3];
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(limited.retryAfter).toMatch(/^\d+$/);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(Number(limited.retryAfter)).toBe(limited.body.retryAfter);
    expect(limited.requestId).toBe(limited.body.requestId);
  });

  it('signs in with GitHub: the page goes to the API, the provider and back to /oauth/complete, then exchanges the code for a cookie session', async () => {
    const email = uniqueEmail('browser-gh');
    github.signInAs({
      id: 424242,
      login: 'grace',
      name: 'Grace Hopper',
      emails: [{ email, primary: true, verified: true }],
    });
    // No session from the earlier tests: whatever signs the page in below is the exchange.
    await page.context().clearCookies();
    await page.goto(`${appOrigin}/`);
    // The app starts the flow with a top-level navigation, as a "Sign in with GitHub" link does.
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/oauth/complete', { timeout: 30_000 }),
      page.evaluate(
        (start) => (globalThis as unknown as { location: { assign(url: string): void } }).location.assign(start),
        `${apiOrigin}/oauth/github`,
      ),
    ]);
    const complete = new URL(page.url());
    expect(complete.origin).toBe(appOrigin);
    expect([...complete.searchParams.keys()]).toEqual(['code']);
    const outcome = await page.evaluate(
      async ({ api }) => {
        const call = (globalThis as unknown as { quorum: QuorumCall }).quorum;
        const params = new URLSearchParams((globalThis as unknown as { location: { search: string } }).location.search);
        const code = params.get('code');
        const before = await call(api, '/users/me');
        const exchange = await call(api, '/auth/oauth/exchange', { method: 'POST', body: { code, cookie: true } });
        const me = await call(api, '/users/me');
        const again = await call(api, '/auth/oauth/exchange', { method: 'POST', body: { code, cookie: true } });
        const changed = await call(api, '/users/me', {
          method: 'PATCH',
          body: { name: 'Rear Admiral Hopper' },
          csrf: exchange.body.csrfToken as string,
        });
        return { before, exchange, me, again, changed };
      },
      { api },
    );
    expect(outcome.before.status).toBe(401);
    expect(outcome.exchange.status).toBe(200);
    expect(outcome.exchange.body.accessToken).toBeUndefined();
    expect(outcome.exchange.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(outcome.me).toMatchObject({ status: 200, body: { email, emailVerified: true, name: 'Grace Hopper' } });
    // The code is single-use.
    expect(outcome.again).toMatchObject({ status: 401, body: { code: 'INVALID_OAUTH_CODE' } });
    expect(outcome.changed).toMatchObject({ status: 200, body: { name: 'Rear Admiral Hopper' } });
    const rows = await t.app
      .get(DataSource)
      .query(
        'SELECT u.email FROM oauth_accounts a JOIN users u ON u.id = a.user_id WHERE a.provider = $1 AND a.provider_user_id = $2',
        ['github', '424242'],
      );
    expect(rows).toEqual([{ email }]);
  });
});

type QuorumCall = (
  api: string,
  path: string,
  init?: { method?: string; body?: unknown; csrf?: string },
) => Promise<{ status: number; retryAfter: string | null; requestId: string | null; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers are read freely by the tests
