import { Secret, TOTP } from 'otpauth';
import { matchTotp, newTotpSecret, totpCode, totpUri } from './totp.js';

// RFC 6238 appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890".
const RFC_SECRET = new Secret({ buffer: new TextEncoder().encode('12345678901234567890').buffer }).base32;
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(RFC_VECTORS)('generates the SHA-1 test vector at T=%i', async (time, expected) => {
    expect(RFC_SECRET).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    await expect(totpCode(RFC_SECRET, time, 8)).resolves.toBe(expected);
    await expect(matchTotp(RFC_SECRET, expected, { epochSeconds: time, digits: 8 })).resolves.toBe(
      Math.floor(time / 30),
    );
  });

  it('accepts codes from an independent implementation (otpauth), ±1 step, and nothing further', async () => {
    const secret = newTotpSecret();
    const other = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
    const now = 1_763_800_000;
    for (const offset of [-30, 0, 30]) {
      const code = other.generate({ timestamp: (now + offset) * 1000 });
      await expect(matchTotp(secret, code, { epochSeconds: now })).resolves.toBe(Math.floor((now + offset) / 30));
    }
    for (const offset of [-90, 90]) {
      const code = other.generate({ timestamp: (now + offset) * 1000 });
      await expect(matchTotp(secret, code, { epochSeconds: now })).resolves.toBeUndefined();
    }
    // And the reverse: otpauth validates what we generate.
    const ours = await totpCode(secret, now);
    expect(other.validate({ token: ours, timestamp: now * 1000, window: 0 })).toBe(0);
  });

  it('refuses a step at or before the last used one (replay)', async () => {
    const secret = newTotpSecret();
    const now = 1_763_800_000;
    const code = await totpCode(secret, now);
    const step = Math.floor(now / 30);
    await expect(matchTotp(secret, code, { epochSeconds: now, afterStep: step - 1 })).resolves.toBe(step);
    await expect(matchTotp(secret, code, { epochSeconds: now, afterStep: step })).resolves.toBeUndefined();
  });

  it('refuses malformed codes and builds an otpauth URL apps understand', async () => {
    const secret = newTotpSecret();
    await expect(matchTotp(secret, '12345')).resolves.toBeUndefined();
    await expect(matchTotp(secret, 'abcdef')).resolves.toBeUndefined();
    const uri = totpUri(secret, 'ada@example.com', 'Quorum');
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.searchParams.get('secret')).toBe(secret);
    expect(parsed.searchParams.get('issuer')).toBe('Quorum');
  });
});
