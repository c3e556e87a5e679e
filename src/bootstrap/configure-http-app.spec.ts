import { isServedPath } from './configure-http-app.js';

describe('isServedPath', () => {
  it.each([
    '/api/v1',
    '/api/v1/',
    '/api/v1?x=1',
    '/api/v1/health/live',
    '/metrics',
    '/metrics?name=x',
    '/oauth/github/callback?code=1',
  ])('serves %s', (url) => expect(isServedPath(url)).toBe(true));

  it.each(['/', '/nope', '/api', '/api/v1x', '/api/v2/health', '/metricsx', '/metrics-x', '/oauth', '/favicon.ico'])(
    'does not serve %s',
    (url) => expect(isServedPath(url)).toBe(false),
  );
});
