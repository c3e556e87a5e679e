import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import type { User } from '#src/users/entities/user.entity.js';
import { toUserView } from '#src/users/user.view.js';
import type { UserView } from '#src/users/user.view.js';
import { UsersService } from '#src/users/users.service.js';
import { AccountService } from './account.service.js';
import { AccountDisabledError, InvalidCredentialsError } from './auth.errors.js';
import { AttemptsService } from './attempts.service.js';
import type { AttemptCounter } from './attempts.service.js';
import type { LoginDto, RegisterDto } from './dto/auth.dto.js';
import { PasswordService } from './password.service.js';
import { SessionsService } from './sessions.service.js';
import type { ClientContext, IssuedSession } from './sessions.service.js';
import { TokensService } from './tokens.service.js';
import { AuditService, SYSTEM_ACTOR, userActor } from '#src/audit/audit.service.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
  user: UserView;
}

export type LoginResult = { mfaRequired: true; mfaToken: string } | TokenPair;

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly lockout: AllConfig['auth']['lockout'];

  constructor(
    private readonly audit: AuditService,
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensService,
    private readonly attempts: AttemptsService,
    private readonly account: AccountService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.lockout = config.get('auth', { infer: true }).lockout;
  }

  async register(dto: RegisterDto): Promise<User> {
    this.passwords.assertAcceptable(dto.password);
    const passwordHash = await this.passwords.hash(dto.password);
    const user = await this.users.create({ email: dto.email, passwordHash, name: dto.name ?? null });
    this.logger.log({ userId: user.id }, 'Account registered');
    await this.account.sendVerification(user);
    return user;
  }

  /**
   * Password sign-in. Unknown email and wrong password give the same answer after the same work
   * (one argon2 verification); a locked account or IP gets the same 429 whatever the password.
   */
  async login(dto: LoginDto, client: ClientContext): Promise<LoginResult> {
    const counters = this.loginCounters(dto.email, client);
    // Counted before the password is checked (see AttemptsService), given back when it is right.
    try {
      await this.attempts.claim(counters, this.lockout.seconds);
    } catch (error) {
      await this.recordFailedLogin(dto.email, null, 'locked_out', client);
      throw error;
    }
    const user = await this.users.findWithSecrets({ email: dto.email });
    const ok = await this.passwords.verify(user?.passwordHash, dto.password);
    if (!user || !ok) {
      this.logger.warn({ userId: user?.id, ip: client.ip }, 'Failed sign-in');
      await this.recordFailedLogin(dto.email, user?.id ?? null, 'invalid_credentials', client);
      throw new InvalidCredentialsError();
    }
    await this.attempts.succeeded(counters);
    if (!user.isActive) throw new AccountDisabledError();
    if (user.totpEnabled) return { mfaRequired: true, mfaToken: this.tokens.signMfa(user.id, 'password') };
    return this.startSession(user, client, 'password');
  }

  async startSession(user: User, client: ClientContext, method: string): Promise<TokenPair> {
    const issued = await this.sessions.create(user.id, client, method);
    this.logger.log({ userId: user.id, sessionId: issued.session.id, method }, 'Signed in');
    // The sign-in and the session it creates: one record.
    await this.audit.record({
      actor: userActor(user.id),
      action: 'auth.login',
      target: { type: 'session', id: issued.session.id },
      ip: client.ip,
      userAgent: client.userAgent,
      data: { method },
    });
    return this.pair(user, issued);
  }

  async refresh(refreshToken: string, client: ClientContext): Promise<TokenPair> {
    const issued = await this.sessions.rotate(refreshToken, client);
    const user = await this.users.findById(issued.session.userId);
    if (!user || !user.isActive) {
      await this.sessions.revoke(issued.session.userId, issued.session.id, 'deactivated');
      throw new AccountDisabledError();
    }
    return this.pair(user, issued);
  }

  async logout(userId: string, sessionId: string, client: ClientContext): Promise<void> {
    await this.sessions.revoke(userId, sessionId, 'logout');
    await this.audit.record({
      actor: userActor(userId),
      action: 'session.revoked',
      target: { type: 'session', id: sessionId },
      ip: client.ip,
      userAgent: client.userAgent,
      data: { reason: 'logout' },
    });
  }

  /**
   * A refused sign-in (wrong password, unknown email, locked out, wrong second factor). The actor is
   * the system: nobody proved who they are; the account tried, when it exists, is the subject.
   */
  async recordFailedLogin(email: string | null, userId: string | null, reason: string, client: ClientContext) {
    await this.audit.record({
      actor: SYSTEM_ACTOR,
      action: 'auth.login_failed',
      target: userId ? { type: 'user', id: userId } : null,
      subjectUserId: userId,
      ip: client.ip,
      userAgent: client.userAgent,
      data: { reason, ...(email ? { email } : {}) },
    });
  }

  private pair(user: User, issued: IssuedSession): TokenPair {
    return {
      accessToken: this.tokens.signAccess(user.id, issued.session.id),
      refreshToken: issued.refreshToken,
      expiresIn: this.tokens.accessTtlSeconds,
      tokenType: 'Bearer',
      user: toUserView(user),
    };
  }

  private loginCounters(email: string, client: ClientContext): AttemptCounter[] {
    return [
      { key: `login:account:${email}`, limit: this.lockout.maxFailuresPerAccount },
      { key: `login:ip:${client.ip ?? 'unknown'}`, limit: this.lockout.maxFailuresPerIp },
    ];
  }
}
