import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { registerUser } from '../support/auth.js';
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

  beforeAll(async () => {
    pages = createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>'),
    );
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const appOrigin = `http://app.example.test:${(pages.address() as AddressInfo).port}`;
    t = await createTestApp({ env: { CORS_ORIGINS: appOrigin, WEB_APP_URL: appOrigin } });
    await t.app.listen(0, '127.0.0.1');
    api = `http://api.example.test:${(t.app.getHttpServer().address() as AddressInfo).port}/api/v1`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--host-resolver-rules=MAP app.example.test 127.0.0.1, MAP api.example.test 127.0.0.1',
      ],
    });
    page = await browser.newPage();
    await page.goto(`${appOrigin}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
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
});
