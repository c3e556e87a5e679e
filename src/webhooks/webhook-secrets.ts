import { Injectable } from '@nestjs/common';
import { EncryptionService } from '#src/common/crypto/encryption.service.js';

/** Encrypts and decrypts subscription secrets; the context binds a ciphertext to its row and slot. */
@Injectable()
export class WebhookSecrets {
  constructor(private readonly encryption: EncryptionService) {}

  seal(subscriptionId: string, secret: string, slot: 'current' | 'previous' = 'current'): string {
    return this.encryption.encrypt(secret, this.context(subscriptionId, slot));
  }

  open(subscriptionId: string, ciphertext: string, slot: 'current' | 'previous' = 'current'): string {
    return this.encryption.decrypt(ciphertext, this.context(subscriptionId, slot));
  }

  /** The secrets an attempt is signed with: the current one, plus the previous one inside its grace period. */
  signingSecrets(row: {
    id: string;
    secretCiphertext: string;
    previousSecretCiphertext: string | null;
    previousSecretExpiresAt: Date | null;
  }, now = new Date()): string[] {
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
