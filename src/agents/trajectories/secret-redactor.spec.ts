import { REDACTED, SecretRedactor } from './secret-redactor.js';
import { boundedJson, clipText } from './trajectory-codec.js';

describe('SecretRedactor', () => {
  const redactor = new SecretRedactor(['configured-provider-key-1234', 'short', undefined]);

  it('replaces known values, credential shapes and URL credentials inside texts', () => {
    const text = [
      'key configured-provider-key-1234',
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
      'api qk_abcdefghijklmnop',
      'openai sk-proj-abcdefghijklmnopqrstu',
      'anthropic sk-ant-api03-abcdefghijklmnopqrstu',
      'google AIzaSyA1234567890abcdefghijklmnopqrstu',
      'github ghp_abcdefghijklmnopqrstuvwxyz012345',
      'gitlab glpat-abcdefghijklmnopqrstu',
      'header Bearer abcdefghijklmnopqrstuvwxyz',
      'clone https://x-access-token:s3cr3tvalue@github.com/o/r.git',
    ].join('\n');
    const out = redactor.text(text);
    for (const secret of [
      'configured-provider-key-1234',
      'eyJhbGciOiJIUzI1NiJ9',
      'qk_abcdefghijklmnop',
      'sk-proj-abc',
      'sk-ant-api03',
      'AIzaSyA',
      'ghp_abc',
      'glpat-abc',
      'Bearer abc',
      's3cr3tvalue',
    ])
      expect(out).not.toContain(secret);
    expect(out).toContain(`https://${REDACTED}@github.com/o/r.git`);
    // Short known values would wreck ordinary text: they are left to the shapes.
    expect(redactor.text('a short answer')).toBe('a short answer');
  });

  it('drops the values of the keys the log redaction knows, at any depth', () => {
    expect(
      redactor.redact({ password: 'hunter2', nested: [{ apiKey: 'abc', Authorization: 'x', path: 'a.ts' }], n: 3 }),
    ).toEqual({ password: REDACTED, nested: [{ apiKey: REDACTED, Authorization: REDACTED, path: 'a.ts' }], n: 3 });
  });
});

describe('trajectory bounds', () => {
  it('clips long texts to their head and tail', () => {
    const clipped = clipText(`${'a'.repeat(500)}${'z'.repeat(500)}`, 100);
    expect(clipped.startsWith('a'.repeat(60))).toBe(true);
    expect(clipped.endsWith('z'.repeat(40))).toBe(true);
    expect(clipped).toContain('900 characters omitted');
  });

  it('fits an entry within its byte limit by clipping its long strings, keeping its shape', () => {
    const value = { request: { messages: [{ role: 'user', content: 'x'.repeat(50_000) }] }, response: { ok: true } };
    const json = boundedJson(value, 4096);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(4096);
    const parsed = JSON.parse(json) as typeof value;
    expect(parsed.response).toEqual({ ok: true });
    expect(parsed.request.messages[0].content).toContain('characters omitted');
    expect(boundedJson({ a: 1 }, 4096)).toBe('{"a":1}');
  });
});
