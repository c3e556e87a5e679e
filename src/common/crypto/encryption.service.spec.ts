import { randomBytes } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { EncryptionService } from './encryption.service.js';

function service(key = randomBytes(32)): EncryptionService {
  const config = { get: () => ({ encryptionKey: key, jwtSecret: 'x'.repeat(32) }) } as unknown as ConfigService<
    AllConfig,
    true
  >;
  return new EncryptionService(config);
}

describe('EncryptionService', () => {
  it('round-trips and never stores the plaintext', () => {
    const crypto = service();
    const stored = crypto.encrypt('ghp_secret', 'repository:1');
    expect(stored).not.toContain('ghp_secret');
    expect(crypto.decrypt(stored, 'repository:1')).toBe('ghp_secret');
  });

  it('uses a fresh IV each time', () => {
    const crypto = service();
    expect(crypto.encrypt('a', 'c')).not.toBe(crypto.encrypt('a', 'c'));
  });

  it('refuses a ciphertext moved to another context or tampered with', () => {
    const crypto = service();
    const stored = crypto.encrypt('token', 'webhook:1');
    expect(() => crypto.decrypt(stored, 'webhook:2')).toThrow();
    const parts = stored.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => crypto.decrypt(parts.join('.'), 'webhook:1')).toThrow();
  });

  it('refuses a ciphertext made under another key', () => {
    expect(() => service().decrypt(service().encrypt('x', 'c'), 'c')).toThrow();
  });
});
