import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import argon2 from 'argon2';
import type { AllConfig } from '#src/config/namespaces.js';
import { ValidationFailedError } from '#src/common/errors.js';
import { PasswordTooCommonError } from './auth.errors.js';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** The shipped list sits at <repo>/data; this file runs from src/auth (tests) or dist/src/auth (built). */
const COMMON_PASSWORDS_CANDIDATES = ['../../data/common-passwords.txt', '../../../data/common-passwords.txt'];

function loadCommonPasswords(): Set<string> {
  for (const candidate of COMMON_PASSWORDS_CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) {
      return new Set(
        readFileSync(path, 'utf8')
          .split('\n')
          .map((line) => line.trim().toLowerCase())
          .filter((line) => line && !line.startsWith('#')),
      );
    }
  }
  throw new Error('data/common-passwords.txt is missing');
}

/**
 * argon2id hashing and the password policy (ASVS 5.0 §6.2): 8..128 characters, counted as Unicode
 * code points and never truncated, and not one of the most common passwords.
 */
@Injectable()
export class PasswordService implements OnModuleInit {
  private readonly logger = new Logger(PasswordService.name);
  private readonly options: argon2.HashOptions & { raw: false };
  private readonly common = loadCommonPasswords();
  /** Verified against when the email is unknown, so both failures cost one argon2 verification. */
  private dummyHash: string;

  constructor(config: ConfigService<AllConfig, true>) {
    const { memoryCost, timeCost, parallelism } = config.get('auth', { infer: true }).argon2;
    this.options = { type: argon2.argon2id, memoryCost, timeCost, parallelism, raw: false };
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await argon2.hash('quorum-dummy-password-for-timing', this.options);
    this.logger.debug({ entries: this.common.size }, 'Common-password list loaded');
  }

  get parameters(): { memoryCost: number; timeCost: number; parallelism: number } {
    const { memoryCost = 0, timeCost = 0, parallelism = 0 } = this.options;
    return { memoryCost, timeCost, parallelism };
  }

  /** Throws 400 unless `password` meets the policy. Runs before any hashing. */
  assertAcceptable(password: string, field = 'password'): void {
    const length = [...password].length;
    if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
      throw new ValidationFailedError([
        { field, message: `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long` },
      ]);
    }
    if (this.isCommon(password)) throw new PasswordTooCommonError(field);
  }

  isCommon(password: string): boolean {
    return this.common.has(password.toLowerCase());
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.options);
  }

  /** Verifies `password` against `hash`, or against the dummy hash when there is none (same cost). */
  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    if ([...password].length > PASSWORD_MAX_LENGTH) return false;
    try {
      const ok = await argon2.verify(hash ?? this.dummyHash, password);
      return ok && !!hash;
    } catch {
      return false;
    }
  }
}
