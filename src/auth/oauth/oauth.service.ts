import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { Repository } from 'typeorm';
import { AuditService, userActor } from '#src/audit/audit.service.js';
import { EncryptionService } from '#src/common/crypto/encryption.service.js';
import { ConflictError, DomainError, NotFoundError } from '#src/common/errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import type { User } from '#src/users/entities/user.entity.js';
import { UsersService } from '#src/users/users.service.js';
import { AccountDisabledError } from '../auth.errors.js';
import { AuthService } from '../auth.service.js';
import type { LoginResult } from '../auth.service.js';
import { OAUTH_PROVIDERS, OAuthAccount } from '../entities/oauth-account.entity.js';
import type { OAuthProvider } from '../entities/oauth-account.entity.js';
import type { ClientContext } from '../sessions.service.js';
import { randomToken, sha256, TokensService } from '../tokens.service.js';
import { GitHubProvider } from './github.provider.js';
import { OAuthStateStore } from './oauth-state.store.js';
import type { ProviderClient, ProviderIdentity } from './oauth-provider.js';
import { OAuthFlowError } from './oauth.errors.js';
import { OidcProvider } from './oidc.provider.js';

const EXCHANGE_CODE_TTL_SECONDS = 60;

export class InvalidOAuthCodeError extends DomainError {
  constructor() {
    super('INVALID_OAUTH_CODE', 'The sign-in code is not valid or has expired; sign in again.', 401);
  }
}

export interface LinkedAccountView {
  provider: OAuthProvider;
  email: string | null;
  createdAt: string;
}

/**
 * Provider sign-in and linking. Accounts are keyed by provider + subject; a provider identity is
 * linked to an existing user only when the provider vouches for the email (or the user is signed
 * in and asked to link). The callback never puts tokens in a URL: it hands the web app a one-time
 * code (60 s) that POST /auth/oauth/exchange turns into tokens.
 */
@Injectable()
export class OAuthService {
  private readonly logger = new Logger(OAuthService.name);
  private readonly providers = new Map<OAuthProvider, ProviderClient>();

  constructor(
    @InjectRepository(OAuthAccount) private readonly accounts: Repository<OAuthAccount>,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly tokens: TokensService,
    private readonly encryption: EncryptionService,
    private readonly audit: AuditService,
    states: OAuthStateStore,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly keys: RedisFactory,
    config: ConfigService<AllConfig, true>,
  ) {
    const { oauth } = config.get('auth', { infer: true });
    const { publicUrl } = config.get('app', { infer: true });
    const callbackUrl = (provider: OAuthProvider) => `${publicUrl}/oauth/${provider}/callback`;
    if (oauth.github) {
      this.providers.set('github', new GitHubProvider({ ...oauth.github, callbackUrl: callbackUrl('github') }, states));
    }
    for (const name of ['google', 'microsoft'] as const) {
      const settings = oauth[name];
      if (settings) {
        this.providers.set(
          name,
          new OidcProvider(name, { ...settings, callbackUrl: callbackUrl(name), publicUrl }, states),
        );
      }
    }
  }

  /** The provider's client; unknown providers and providers without credentials are 404. */
  provider(name: string): ProviderClient {
    const provider = OAUTH_PROVIDERS.includes(name as OAuthProvider)
      ? this.providers.get(name as OAuthProvider)
      : undefined;
    if (!provider) throw new NotFoundError('OAuth provider', 'OAUTH_PROVIDER_NOT_FOUND');
    return provider;
  }

  /**
   * Resolves the identity to a user (linking or creating as the rules allow) and returns a
   * one-time code for the web app, or, when linking, nothing.
   */
  async completeSignIn(
    provider: OAuthProvider,
    identity: ProviderIdentity,
    linkUserId?: string,
    client: ClientContext = {},
  ): Promise<{ code?: string }> {
    const existing = await this.accounts.findOneBy({ provider, providerUserId: identity.subject });
    if (linkUserId) {
      if (existing && existing.userId !== linkUserId) throw new OAuthFlowError('already_linked');
      const other = await this.accounts.findOneBy({ provider, userId: linkUserId });
      if (other && other.providerUserId !== identity.subject) throw new OAuthFlowError('already_linked');
      const linked = await this.upsertAccount(linkUserId, provider, identity, existing ?? other);
      if (linked) await this.recordLink(linkUserId, linked, provider, 'link', client);
      this.logger.log({ userId: linkUserId, provider }, 'Provider linked');
      return {};
    }

    let user: User | null = existing ? await this.users.findById(existing.userId) : null;
    if (!user) {
      if (!identity.email) throw new OAuthFlowError('email_missing');
      if (!identity.emailVerified) throw new OAuthFlowError('email_not_verified');
      user = await this.users.findByEmail(identity.email);
      if (user) {
        if (!user.emailVerified) user = await this.users.markEmailVerified(user.id);
        this.logger.log({ userId: user.id, provider }, 'Provider linked by verified email');
      } else {
        user = await this.users.create({
          email: identity.email,
          passwordHash: null,
          name: identity.name?.slice(0, 100) ?? null,
          avatarUrl: identity.avatarUrl?.startsWith('https://') ? identity.avatarUrl.slice(0, 2048) : null,
          emailVerified: true,
        });
        this.logger.log({ userId: user.id, provider }, 'Account created from provider');
      }
    }
    if (!user.isActive) throw new OAuthFlowError('account_disabled');
    const linked = await this.upsertAccount(user.id, provider, identity, existing);
    if (linked) await this.recordLink(user.id, linked, provider, 'sign_in', client);
    const code = randomToken();
    await this.redis.set(
      this.codeKey(code),
      JSON.stringify({ userId: user.id, method: `oauth:${provider}` }),
      'EX',
      EXCHANGE_CODE_TTL_SECONDS,
    );
    return { code };
  }

  /** POST /auth/oauth/exchange: the one-time code (once, 60 s) for tokens or the 2FA step. */
  async exchange(code: string, client: ClientContext): Promise<LoginResult> {
    const raw = await this.redis.getdel(this.codeKey(code));
    if (!raw) throw new InvalidOAuthCodeError();
    const { userId, method } = JSON.parse(raw) as { userId: string; method: string };
    const user = await this.users.findById(userId);
    if (!user) throw new InvalidOAuthCodeError();
    if (!user.isActive) throw new AccountDisabledError();
    if (user.totpEnabled) return { mfaRequired: true, mfaToken: this.tokens.signMfa(user.id, method) };
    return this.auth.startSession(user, client, method);
  }

  async list(userId: string): Promise<LinkedAccountView[]> {
    const rows = await this.accounts.find({ where: { userId }, order: { createdAt: 'ASC' } });
    return rows.map((row) => ({ provider: row.provider, email: row.email, createdAt: row.createdAt.toISOString() }));
  }

  /** Unlinks a provider, unless it is the only way left to sign in (no password, no other provider). */
  async unlink(userId: string, provider: string, client: ClientContext = {}): Promise<void> {
    const rows = await this.accounts.findBy({ userId });
    const target = rows.find((row) => row.provider === provider);
    if (!target) throw new NotFoundError('Linked account', 'OAUTH_ACCOUNT_NOT_FOUND');
    const user = await this.users.findWithSecrets({ id: userId });
    if (!user?.passwordHash && rows.length === 1) {
      throw new ConflictError(
        'LAST_SIGN_IN_METHOD',
        'This is the only way to sign in; set a password or link another provider first.',
      );
    }
    await this.accounts.delete({ id: target.id });
    await this.audit.record({
      actor: userActor(userId),
      action: 'oauth.unlinked',
      target: { type: 'oauth_account', id: target.id },
      ...client,
      data: { provider },
    });
    this.logger.log({ userId, provider }, 'Provider unlinked');
  }

  /** A provider identity newly tied to the account: asked for (`link`) or by a sign-in with its verified email. */
  private async recordLink(
    userId: string,
    accountId: string,
    provider: OAuthProvider,
    via: 'link' | 'sign_in',
    client: ClientContext,
  ): Promise<void> {
    await this.audit.record({
      actor: userActor(userId),
      action: 'oauth.linked',
      target: { type: 'oauth_account', id: accountId },
      ...client,
      data: { provider, via },
    });
  }

  /** Stores the provider identity on the account; returns the new row's id, or null when it was linked already. */
  private async upsertAccount(
    userId: string,
    provider: OAuthProvider,
    identity: ProviderIdentity,
    existing: OAuthAccount | null,
  ): Promise<string | null> {
    const id = existing?.id ?? randomUUID();
    const secrets = {
      accessToken: identity.accessToken ? this.encryption.encrypt(identity.accessToken, `oauth:${id}:access`) : null,
      refreshToken: identity.refreshToken
        ? this.encryption.encrypt(identity.refreshToken, `oauth:${id}:refresh`)
        : null,
    };
    if (existing) {
      await this.accounts.update({ id }, { email: identity.email, ...secrets });
      return null;
    } else {
      await this.accounts.insert({
        id,
        userId,
        provider,
        providerUserId: identity.subject,
        email: identity.email,
        ...secrets,
      });
      return id;
    }
  }

  private codeKey(code: string): string {
    return this.keys.key('auth', 'oauth-code', sha256(code));
  }
}
