import { randomInt } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { DataSource, IsNull, Repository } from 'typeorm';
import { EncryptionService } from '#src/common/crypto/encryption.service.js';
import { ConflictError, ValidationFailedError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { MailService } from '#src/mail/mail.service.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import type { User } from '#src/users/entities/user.entity.js';
import { UsersService } from '#src/users/users.service.js';
import { AttemptsService } from '../attempts.service.js';
import type { AttemptCounter } from '../attempts.service.js';
import { InvalidCredentialsError, InvalidMfaTokenError, InvalidTwoFactorCodeError } from '../auth.errors.js';
import { AuthService } from '../auth.service.js';
import type { TokenPair } from '../auth.service.js';
import { BackupCode } from '../entities/backup-code.entity.js';
import { PasswordService } from '../password.service.js';
import type { ClientContext } from '../sessions.service.js';
import { sha256, TokensService } from '../tokens.service.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';

export const BACKUP_CODE_COUNT = 10;
/** No 0/O, 1/I/L: codes are read off paper. 10 characters ≈ 50 bits. */
const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const ISSUER = 'Quorum';

export interface SecondFactor {
  code?: string;
  backupCode?: string;
}

/**
 * TOTP two-factor authentication. The secret is stored encrypted; each code is accepted once (the
 * user's last accepted time step is advanced by a conditional UPDATE, so a replay, even a
 * concurrent one, fails); backup codes are single-use hashes; wrong codes count towards a lockout.
 */
@Injectable()
export class TwoFactorService {
  private readonly logger = new Logger(TwoFactorService.name);
  private readonly lockout: AllConfig['auth']['lockout'];

  constructor(
    private readonly users: UsersService,
    private readonly encryption: EncryptionService,
    private readonly attempts: AttemptsService,
    private readonly passwords: PasswordService,
    private readonly tokens: TokensService,
    private readonly auth: AuthService,
    private readonly mail: MailService,
    @InjectRepository(BackupCode) private readonly backupCodes: Repository<BackupCode>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisFactory,
    config: ConfigService<AllConfig, true>,
  ) {
    this.lockout = config.get('auth', { infer: true }).lockout;
  }

  async status(userId: string): Promise<{ enabled: boolean; backupCodesRemaining: number }> {
    const user = await this.users.getById(userId);
    const backupCodesRemaining = user.totpEnabled ? await this.backupCodes.countBy({ userId, usedAt: IsNull() }) : 0;
    return { enabled: user.totpEnabled, backupCodesRemaining };
  }

  /** A new (not yet active) secret; enabling needs a code from it. */
  async setup(userId: string): Promise<{ secret: string; otpauthUrl: string; qrCodeDataUrl: string }> {
    const user = await this.users.getById(userId);
    if (user.totpEnabled)
      throw new ConflictError('TWO_FACTOR_ALREADY_ENABLED', 'Two-factor authentication is already on.');
    const secret = newTotpSecret();
    await this.users.setTotp(userId, {
      totpSecret: this.encryption.encrypt(secret, this.context(userId)),
      totpLastStep: null,
    });
    const otpauthUrl = totpUri(secret, user.email, ISSUER);
    // Loaded here, not at start-up: only 2FA set-up draws a QR code.
    const { default: QRCode } = await import('qrcode');
    return { secret, otpauthUrl, qrCodeDataUrl: await QRCode.toDataURL(otpauthUrl) };
  }

  async enable(userId: string, code: string): Promise<{ backupCodes: string[] }> {
    const user = await this.withSecrets(userId);
    if (user.totpEnabled)
      throw new ConflictError('TWO_FACTOR_ALREADY_ENABLED', 'Two-factor authentication is already on.');
    if (!user.totpSecret) throw new ConflictError('TWO_FACTOR_NOT_SET_UP', 'Call POST /two-factor/setup first.');
    await this.checkTotp(user, code);
    const backupCodes = await this.replaceBackupCodes(userId);
    await this.users.setTotp(userId, { totpEnabled: true });
    this.logger.log({ userId }, 'Two-factor authentication enabled');
    return { backupCodes };
  }

  /** Turns 2FA off with a current code (TOTP or backup) or the account password. */
  async disable(userId: string, proof: { code?: string; password?: string }): Promise<void> {
    const user = await this.withSecrets(userId);
    this.assertEnabled(user);
    if (proof.code) await this.checkCodeOrBackup(user, proof.code);
    else if (proof.password) {
      if (!(await this.passwords.verify(user.passwordHash, proof.password))) throw new InvalidCredentialsError();
    } else throw new ValidationFailedError([{ field: 'code', message: 'give a current code or the password' }]);
    await this.backupCodes.delete({ userId });
    await this.users.setTotp(userId, { totpEnabled: false, totpSecret: null, totpLastStep: null });
    this.logger.log({ userId }, 'Two-factor authentication disabled');
    this.mail.sendInBackground({
      to: user.email,
      subject: 'Two-factor authentication was turned off',
      text: 'Two-factor authentication was just turned off for your Quorum account.\n\nIf this was not you, change your password and turn it on again.\n',
    });
  }

  async regenerateBackupCodes(userId: string, code: string): Promise<{ backupCodes: string[] }> {
    const user = await this.withSecrets(userId);
    this.assertEnabled(user);
    await this.checkTotp(user, code);
    return { backupCodes: await this.replaceBackupCodes(userId) };
  }

  /** Step two of a sign-in: the mfaToken from step one plus a TOTP or backup code. */
  async completeLogin(mfaToken: string, factor: SecondFactor, client: ClientContext): Promise<TokenPair> {
    const claims = this.tokens.verifyMfa(mfaToken);
    const usedKey = this.keys.key('auth', 'mfa-used', claims.jti);
    if (await this.redis.exists(usedKey)) throw new InvalidMfaTokenError();
    const user = await this.users.findWithSecrets({ id: claims.sub });
    if (!user || !user.totpEnabled || !user.totpSecret) throw new InvalidMfaTokenError();
    const ip = client.ip ?? undefined;
    if (factor.code) await this.checkTotp(user, factor.code, ip);
    else if (factor.backupCode) await this.checkBackupCode(user, factor.backupCode, ip);
    else throw new ValidationFailedError([{ field: 'code', message: 'give code or backupCode' }]);
    // One mfaToken, one session: a copied token cannot open a second one.
    const fresh = await this.redis.set(usedKey, '1', 'EX', 3600, 'NX');
    if (fresh !== 'OK') throw new InvalidMfaTokenError();
    return this.auth.startSession(user, client, claims.method);
  }

  /** For sensitive actions (account deletion): a current TOTP code or a backup code. */
  async verifyCurrentCode(userId: string, code: string): Promise<void> {
    const user = await this.withSecrets(userId);
    this.assertEnabled(user);
    await this.checkCodeOrBackup(user, code);
  }

  private async checkCodeOrBackup(user: User, code: string): Promise<void> {
    if (/^\d{6}$/.test(code.trim())) await this.checkTotp(user, code.trim());
    else await this.checkBackupCode(user, code);
  }

  private async checkTotp(user: User, code: string, ip?: string): Promise<void> {
    const counters = this.counters(user.id, ip);
    await this.attempts.claim(counters, this.lockout.seconds);
    const secret = this.encryption.decrypt(user.totpSecret!, this.context(user.id));
    const afterStep = user.totpLastStep === null ? undefined : Number(user.totpLastStep);
    const step = await matchTotp(secret, code, { afterStep });
    if (step === undefined || !(await this.users.claimTotpStep(user.id, step))) this.fail(user.id);
    await this.attempts.succeeded(counters);
  }

  private async checkBackupCode(user: User, code: string, ip?: string): Promise<void> {
    const counters = this.counters(user.id, ip);
    await this.attempts.claim(counters, this.lockout.seconds);
    const result = await this.backupCodes
      .createQueryBuilder()
      .update(BackupCode)
      .set({ usedAt: () => 'now()' })
      .where('user_id = :userId AND code_hash = :hash AND used_at IS NULL', {
        userId: user.id,
        hash: sha256(normalizeBackupCode(code)),
      })
      .execute();
    if ((result.affected ?? 0) !== 1) this.fail(user.id);
    await this.attempts.succeeded(counters);
    this.logger.log({ userId: user.id }, 'Backup code used');
  }

  /** The attempt was counted when it was claimed; a wrong one keeps it. */
  private fail(userId: string): never {
    this.logger.warn({ userId }, 'Wrong two-factor code');
    throw new InvalidTwoFactorCodeError();
  }

  private async replaceBackupCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: BACKUP_CODE_COUNT }, () => newBackupCode());
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(BackupCode).delete({ userId });
      await manager
        .getRepository(BackupCode)
        .insert(codes.map((code) => ({ userId, codeHash: sha256(normalizeBackupCode(code)) })));
    });
    return codes;
  }

  private async withSecrets(userId: string): Promise<User> {
    const user = await this.users.findWithSecrets({ id: userId });
    if (!user) throw new InvalidMfaTokenError();
    return user;
  }

  private assertEnabled(user: User): void {
    if (!user.totpEnabled || !user.totpSecret) {
      throw new ConflictError('TWO_FACTOR_NOT_ENABLED', 'Two-factor authentication is not on.');
    }
  }

  /** Per account, and during sign-in also per IP (a success clears only the account's counter). */
  private counters(userId: string, ip?: string): AttemptCounter[] {
    const counters: AttemptCounter[] = [{ key: `mfa:${userId}`, limit: this.lockout.maxMfaFailures }];
    if (ip) counters.push({ key: `mfa:ip:${ip}`, limit: this.lockout.maxFailuresPerIp });
    return counters;
  }

  private context(userId: string): string {
    return `user:${userId}:totp`;
  }
}

function newBackupCode(): string {
  const chars = Array.from({ length: 10 }, () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

function normalizeBackupCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}
