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
    await this.attempts.claim(counters, this.lockout.seconds);
    const user = await this.users.findWithSecrets({ email: dto.email });
    const ok = await this.passwords.verify(user?.passwordHash, dto.password);
    if (!user || !ok) {
      this.logger.warn({ userId: user?.id, ip: client.ip }, 'Failed sign-in');
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

  async logout(userId: string, sessionId: string): Promise<void> {
    await this.sessions.revoke(userId, sessionId, 'logout');
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
