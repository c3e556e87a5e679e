import { Injectable } from '@nestjs/common';
import { EncryptionService } from '#src/common/crypto/encryption.service.js';

const CACHE_SIZE = 1_000;

/**
 * Encrypts and decrypts subscription secrets; the context binds a ciphertext to its row and slot.
 * Decrypted secrets are cached per ciphertext (bounded), since every delivery attempt signs and
 * AES-GCM setup was a visible share of a worker's CPU in the bench.
 */
@Injectable()
export class WebhookSecrets {
  private readonly cache = new Map<string, string>();

  constructor(private readonly encryption: EncryptionService) {}

  seal(subscriptionId: string, secret: string, slot: 'current' | 'previous' = 'current'): string {
    return this.encryption.encrypt(secret, this.context(subscriptionId, slot));
  }

  open(subscriptionId: string, ciphertext: string, slot: 'current' | 'previous' = 'current'): string {
    const context = this.context(subscriptionId, slot);
    const key = `${context}|${ciphertext}`;
    let secret = this.cache.get(key);
    if (secret === undefined) {
      secret = this.encryption.decrypt(ciphertext, context);
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, secret);
    }
    return secret;
  }

  /** The secrets an attempt is signed with: the current one, plus the previous one inside its grace period. */
  signingSecrets(
    row: {
      id: string;
      secretCiphertext: string;
      previousSecretCiphertext: string | null;
      previousSecretExpiresAt: Date | null;
    },
    now = new Date(),
  ): string[] {
    const secrets = [this.open(row.id, row.secretCiphertext)];
    if (row.previousSecretCiphertext && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now) {
      secrets.push(this.open(row.id, row.previousSecretCiphertext, 'previous'));
    }
    return secrets;
  }

  private context(subscriptionId: string, slot: 'current' | 'previous'): string {
    return `webhook:${subscriptionId}:${slot === 'current' ? 'secret' : 'previous-secret'}`;
  }
}
