import { createSecretKey, hash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import type { AllConfig } from '#src/config/namespaces.js';
import { InvalidMfaTokenError, InvalidTokenError, TokenExpiredError } from './auth.errors.js';

/** `typ` keeps the token kinds apart: an MFA step token is never an access token, and the reverse. */
export type JwtType = 'access' | 'mfa' | 'oauth-state';

export interface AccessClaims {
  sub: string;
  sid: string;
  typ: 'access';
  jti: string;
}

export interface MfaClaims {
  sub: string;
  typ: 'mfa';
  jti: string;
  /** How the first factor was proven (`password`, `oauth:github`, …), carried into the session. */
  method: string;
  exp: number;
}

/**
 * JWTs signed with HS256 under JWT_SECRET. Verification pins the algorithm (no `none`, no RS/HS
 * confusion) and checks issuer, audience, expiry and `typ`. Refresh tokens are not JWTs: they are
 * opaque random values stored hashed, so one can be revoked, rotated and detected when reused.
 */
@Injectable()
export class TokensService {
  private readonly jwt: JwtService;
  /**
   * Access tokens already verified, kept until they expire. A client sends the same token with
   * every request for its whole life, and HS256 verification through jsonwebtoken was a sixth of an
   * authenticated request's CPU (measured). Only successes are kept, keyed by the whole token string
   * (signature included, so a tampered token never hits), and a hit checks expiry again. Revocation
   * never rested on the JWT: the guard checks the session on every request either way.
   */
  private readonly verifiedAccess = new LRUCache<string, Readonly<AccessClaims & { exp: number }>>({ max: 10_000 });
  private readonly clockToleranceSeconds = 5;
  readonly accessTtlSeconds: number;
  private readonly mfaTtlSeconds: number;

  constructor(config: ConfigService<AllConfig, true>) {
    const auth = config.get('auth', { infer: true });
    this.accessTtlSeconds = auth.accessTokenTtlSeconds;
    this.mfaTtlSeconds = auth.mfaTokenTtlSeconds;
    this.jwt = new JwtService({
      // A KeyObject once, rather than a string jsonwebtoken turns into a key on every verify.
      secret: createSecretKey(
        Buffer.from(config.get('secrets', { infer: true }).jwtSecret, 'utf8'),
      ) as unknown as string,
      signOptions: { algorithm: 'HS256', issuer: auth.issuer, audience: auth.audience },
      verifyOptions: {
        algorithms: ['HS256'],
        issuer: auth.issuer,
        audience: auth.audience,
        clockTolerance: this.clockToleranceSeconds,
      },
    });
  }

  signAccess(userId: string, sessionId: string): string {
    const claims: Omit<AccessClaims, 'sub'> = { sid: sessionId, typ: 'access', jti: randomUUID() };
    return this.jwt.sign(claims, { subject: userId, expiresIn: this.accessTtlSeconds });
  }

  verifyAccess(token: string): AccessClaims {
    const known = this.verifiedAccess.get(token);
    if (known) {
      // jsonwebtoken's rule: expired once now >= exp + tolerance.
      if (Date.now() / 1000 < known.exp + this.clockToleranceSeconds) return known;
      this.verifiedAccess.delete(token);
      throw new TokenExpiredError();
    }
    const claims = this.verify(
      token,
      () => new InvalidTokenError(),
      () => new TokenExpiredError(),
    );
    if (
      claims.typ !== 'access' ||
      typeof claims.sid !== 'string' ||
      typeof claims.sub !== 'string' ||
      typeof claims.exp !== 'number'
    ) {
      throw new InvalidTokenError();
    }
    const verified = Object.freeze(claims as unknown as AccessClaims & { exp: number });
    this.verifiedAccess.set(token, verified);
    return verified;
  }

  signMfa(userId: string, method: string): string {
    return this.jwt.sign({ typ: 'mfa', jti: randomUUID(), method }, { subject: userId, expiresIn: this.mfaTtlSeconds });
  }

  verifyMfa(token: string): MfaClaims {
    const invalid = () => new InvalidMfaTokenError();
    const claims = this.verify(token, invalid, invalid);
    if (claims.typ !== 'mfa' || typeof claims.sub !== 'string' || typeof claims.jti !== 'string') throw invalid();
    return claims as unknown as MfaClaims;
  }

  private verify(token: string, invalid: () => Error, expired: () => Error): Record<string, unknown> {
    try {
      return this.jwt.verify<Record<string, unknown>>(token);
    } catch (error) {
      if ((error as Error).name === 'TokenExpiredError') throw expired();
      throw invalid();
    }
  }
}

/** A new opaque secret (256 bits), for refresh tokens, email links and one-time codes. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 hex: what is stored of a high-entropy token (a slow hash adds nothing at 256 bits). */
export function sha256(value: string): string {
  // One-shot: it runs on every API-key request, and a Hash object per call costs several times more.
  return hash('sha256', value, 'hex');
}
