import helmet from 'helmet';
import { fixedHeaders } from './fixed-headers.js';

describe('fixedHeaders', () => {
  it('captures what a constant helmet configuration sets', () => {
    const headers = new Map(
      fixedHeaders(
        helmet({
          contentSecurityPolicy: {
            useDefaults: false,
            directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
          },
          xFrameOptions: { action: 'deny' },
        }),
      ),
    );
    expect(headers.get('Content-Security-Policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(headers.get('X-Frame-Options')).toBe('DENY');
    expect(headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('refuses a middleware whose headers depend on the request or that finishes later', () => {
    expect(() =>
      fixedHeaders((req, res, next) => {
        res.setHeader('X-Path', String(req.url));
        next();
      }),
    ).toThrow(/depend on the request/);
    expect(() => fixedHeaders((_req, _res, next) => void setTimeout(next, 0))).toThrow(/synchronously/);
  });
});
