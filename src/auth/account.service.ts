import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { MailService } from '#src/mail/mail.service.js';
import type { User } from '#src/users/entities/user.entity.js';
import { UsersService } from '#src/users/users.service.js';
import { AccountDisabledError, InvalidCredentialsError, InvalidEmailTokenError } from './auth.errors.js';
import { AttemptsService } from './attempts.service.js';
import { EmailTokensService } from './email-tokens.service.js';
import { PasswordService } from './password.service.js';
import { SessionsService } from './sessions.service.js';
import { AuditClient, AuditService, userActor } from '#src/audit/audit.service.js';

/** Email verification, password reset and password change. */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);
  private readonly webAppUrl: string;
  private readonly forgotPasswordLink: string;
  private readonly ttl: { verify: number; reset: number };

  constructor(
    private readonly audit: AuditService,
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly sessions: SessionsService,
    private readonly emailTokens: EmailTokensService,
    private readonly attempts: AttemptsService,
    private readonly mail: MailService,
    config: ConfigService<AllConfig, true>,
  ) {
    const app = config.get('app', { infer: true });
    this.webAppUrl = app.mailLinkBase;
    // The API's own page asks for the address when it has no token; a web app has its own page.
    this.forgotPasswordLink = `${app.mailLinkBase}/${app.webAppConfigured ? 'forgot-password' : 'reset-password'}`;
    const auth = config.get('auth', { infer: true });
    this.ttl = { verify: auth.emailVerificationTtlSeconds, reset: auth.passwordResetTtlSeconds };
  }

  async sendVerification(user: User): Promise<void> {
    const token = await this.emailTokens.issue(user.id, 'verify_email', this.ttl.verify);
    const link = `${this.webAppUrl}/verify-email?token=${encodeURIComponent(token)}`;
    this.mail.sendInBackground({
      to: user.email,
      subject: 'Verify your email address for Quorum',
      text: `Welcome to Quorum.\n\nConfirm your email address by opening this link:\n${link}\n\nThe link works once and expires in ${Math.round(this.ttl.verify / 3600)} hours. If you did not sign up, ignore this mail.\n`,
    });
  }

  async verifyEmail(token: string): Promise<User> {
    const userId = await this.emailTokens.consume(token, 'verify_email');
    const user = await this.users.markEmailVerified(userId);
    this.logger.log({ userId }, 'Email verified');
    return user;
  }

  /** Same answer whether or not the account exists or is verified already. */
  async resendVerification(email: string): Promise<void> {
    const user = await this.users.findByEmail(email);
    if (user && !user.emailVerified && user.isActive) await this.sendVerification(user);
  }

  /** Same answer whether or not the account exists. */
  async forgotPassword(email: string): Promise<void> {
    const user = await this.users.findByEmail(email);
    if (!user || !user.isActive) return;
    const token = await this.emailTokens.issue(user.id, 'reset_password', this.ttl.reset);
    const link = `${this.webAppUrl}/reset-password?token=${encodeURIComponent(token)}`;
    this.mail.sendInBackground({
      to: user.email,
      subject: 'Reset your Quorum password',
      text: `Someone asked to reset the password of your Quorum account.\n\nChoose a new password here:\n${link}\n\nThe link works once and expires in ${Math.round(this.ttl.reset / 60)} minutes. If it was not you, ignore this mail; your password stays as it is.\n`,
    });
  }

  /**
   * Sets a new password from a reset link and ends every session. Two-factor authentication stays
   * on: a mailbox alone must not be enough to take the account over.
   */
  async resetPassword(
    token: string,
    password: string,
    client: AuditClient = { ip: null, userAgent: null },
  ): Promise<void> {
    this.passwords.assertAcceptable(password);
    const userId = await this.emailTokens.consume(token, 'reset_password');
    const user = await this.users.findById(userId);
    if (!user) throw new InvalidEmailTokenError();
    if (!user.isActive) throw new AccountDisabledError();
    await this.users.setPasswordHash(userId, await this.passwords.hash(password));
    await this.sessions.revokeAll(userId, 'password_reset');
    this.notifyPasswordChanged(user);
    // The owner proved control of the mailbox: the account lockout counter starts again.
    await this.attempts.clear([`login:account:${user.email.toLowerCase()}`]);
    await this.audit.record({
      actor: userActor(userId),
      action: 'auth.password_reset',
      target: { type: 'user', id: userId },
      ...client,
    });
    this.logger.log({ userId }, 'Password reset; all sessions revoked');
  }

  /** Changes the password of the signed-in user and ends their other sessions. */
  async changePassword(
    userId: string,
    sessionId: string,
    currentPassword: string,
    newPassword: string,
    client: AuditClient = { ip: null, userAgent: null },
  ): Promise<void> {
    const user = await this.users.findWithSecrets({ id: userId });
    if (!user || !(await this.passwords.verify(user.passwordHash, currentPassword)))
      throw new InvalidCredentialsError();
    this.passwords.assertAcceptable(newPassword, 'newPassword');
    await this.users.setPasswordHash(userId, await this.passwords.hash(newPassword));
    await this.sessions.revokeAll(userId, 'password_changed', sessionId);
    await this.audit.record({
      actor: userActor(userId),
      action: 'auth.password_changed',
      target: { type: 'user', id: userId },
      ...client,
    });
    this.notifyPasswordChanged(user);
    this.logger.log({ userId }, 'Password changed; other sessions revoked');
  }

  /** ASVS 6.3: the owner hears of every change to their credentials, by a channel an attacker may not hold. */
  private notifyPasswordChanged(user: User): void {
    this.mail.sendInBackground({
      to: user.email,
      subject: 'Your Quorum password was changed',
      text: `The password of your Quorum account was just changed, and your other sessions were signed out.\n\nIf this was not you, reset your password now: ${this.forgotPasswordLink}\n`,
    });
  }
}
