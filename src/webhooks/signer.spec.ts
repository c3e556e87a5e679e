import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, signPayload, webhookHeaders } from './signer.js';

describe('webhook signer', () => {
  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('produces signatures the standardwebhooks library verifies', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({
      id: 'e1',
      type: 'run.started',
      createdAt: '2026-01-01T00:00:00.000Z',
      data: { x: 'ü' },
    });
    const headers = webhookHeaders([secret], 'e1', body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('signs with every secret during a rotation, each verifying alone', () => {
    const [current, previous] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = '{"a":1}';
    const headers = webhookHeaders([current, previous], 'msg_1', body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, { ...headers })).toEqual({ a: 1 });
    expect(new Webhook(previous).verify(body, { ...headers })).toEqual({ a: 1 });
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it('matches the Standard Webhooks reference vector', () => {
    // From the spec's reference implementations (libraries/javascript/src/index.test.ts).
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const signature = signPayload(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('refuses secrets without the prefix or too short', () => {
    expect(() => signPayload('abc', 'i', 1, '')).toThrow();
    expect(() => signPayload('whsec_' + Buffer.alloc(8).toString('base64'), 'i', 1, '')).toThrow();
  });
});
