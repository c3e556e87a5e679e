import { afterEach, jest } from '@jest/globals';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { InvalidTokenError, TokenExpiredError } from './auth.errors.js';
import { TokensService } from './tokens.service.js';

function tokens(secret = 'unit-test-jwt-secret-0123456789abcdef0123456789'): TokensService {
  const values: Record<string, unknown> = {
    auth: { issuer: 'quorum-test', audience: 'quorum-test-api', accessTokenTtlSeconds: 60, mfaTokenTtlSeconds: 300 },
    secrets: { jwtSecret: secret },
  };
  return new TokensService({ get: (key: string) => values[key] } as unknown as ConfigService<AllConfig, true>);
}

describe('TokensService access tokens', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('verifies a token, and the same token again, to the same claims', () => {
    const service = tokens();
    const token = service.signAccess('00000000-0000-4000-8000-000000000001', 'session-1');
    const first = service.verifyAccess(token);
    expect(first).toMatchObject({ sub: '00000000-0000-4000-8000-000000000001', sid: 'session-1', typ: 'access' });
    expect(service.verifyAccess(token)).toEqual(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('rejects a token whose payload or signature was changed after a good one was verified', () => {
    const service = tokens();
    const token = service.signAccess('00000000-0000-4000-8000-000000000001', 'session-1');
    service.verifyAccess(token);
    const [header, payload, signature] = token.split('.');
    const forged = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    forged.sub = '00000000-0000-4000-8000-000000000002';
    expect(() =>
      service.verifyAccess(`${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`),
    ).toThrow(InvalidTokenError);
    expect(() => service.verifyAccess(`${token}x`)).toThrow(InvalidTokenError);
    // Signed under another secret: never valid here, cached or not.
    const foreign = tokens('another-secret-entirely-0123456789abcdef0123456789').signAccess(
      '00000000-0000-4000-8000-000000000001',
      'session-1',
    );
    expect(() => service.verifyAccess(foreign)).toThrow(InvalidTokenError);
  });

  it('expires a verified token at exp plus the clock tolerance, cached or not', () => {
    jest.useFakeTimers({ now: new Date('2026-11-22T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    const service = tokens();
    const token = service.signAccess('00000000-0000-4000-8000-000000000001', 'session-1');
    const fresh = tokens();
    service.verifyAccess(token);
    jest.setSystemTime(new Date('2026-11-22T12:01:04Z'));
    expect(service.verifyAccess(token).sid).toBe('session-1');
    expect(fresh.verifyAccess(token).sid).toBe('session-1');
    jest.setSystemTime(new Date('2026-11-22T12:01:05Z'));
    expect(() => service.verifyAccess(token)).toThrow(TokenExpiredError);
    expect(() => service.verifyAccess(token)).toThrow(TokenExpiredError);
    expect(() => tokens().verifyAccess(token)).toThrow(TokenExpiredError);
  });

  it('never accepts an MFA step token as an access token', () => {
    const service = tokens();
    expect(() => service.verifyAccess(service.signMfa('00000000-0000-4000-8000-000000000001', 'password'))).toThrow(
      InvalidTokenError,
    );
  });
});
