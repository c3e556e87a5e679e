import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { EmailToken } from './entities/email-token.entity.js';
import type { EmailTokenPurpose } from './entities/email-token.entity.js';
import { InvalidEmailTokenError } from './auth.errors.js';
import { randomToken, sha256 } from './tokens.service.js';

/** Single-use, short-lived tokens for email links; only their SHA-256 is stored. */
@Injectable()
export class EmailTokensService {
  constructor(@InjectRepository(EmailToken) private readonly tokens: Repository<EmailToken>) {}

  /** A new token; any earlier unused token of the same purpose stops working. */
  async issue(userId: string, purpose: EmailTokenPurpose, ttlSeconds: number): Promise<string> {
    await this.tokens.update({ userId, purpose, usedAt: IsNull() }, { usedAt: new Date() });
    const token = randomToken();
    await this.tokens.insert({
      userId,
      purpose,
      tokenHash: sha256(token),
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
    });
    return token;
  }

  /** Uses the token (once: a conditional UPDATE) and returns its user id. */
  async consume(token: string, purpose: EmailTokenPurpose): Promise<string> {
    const result = await this.tokens
      .createQueryBuilder()
      .update(EmailToken)
      .set({ usedAt: () => 'now()' })
      .where('token_hash = :hash AND purpose = :purpose AND used_at IS NULL AND expires_at > now()', {
        hash: sha256(token),
        purpose,
      })
      .returning(['userId'])
      .execute();
    const row = (result.raw as Array<{ user_id: string }>)[0];
    if (!row) throw new InvalidEmailTokenError();
    return row.user_id;
  }
}
