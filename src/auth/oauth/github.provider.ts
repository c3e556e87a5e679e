import type { Request } from 'express';
import { Strategy as GitHubStrategy } from 'passport-github2';
import type { Profile, StrategyOptions } from 'passport-github2';
import type { OAuthStateStore, OAuthFlow } from './oauth-state.store.js';
import type { BeginResult, ProviderClient, ProviderIdentity } from './oauth-provider.js';
import { OAuthFlowError } from './oauth.errors.js';

export interface GitHubSettings {
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  apiUrl: string;
  callbackUrl: string;
}

interface GitHubEmail {
  value: string;
  primary?: boolean;
  verified?: boolean;
}

interface StrategyUser {
  accessToken: string;
  refreshToken?: string;
  profile: Profile;
}

type Outcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'success'; user: StrategyUser; info: { state?: OAuthFlow } }
  | { kind: 'fail'; challenge: unknown }
  | { kind: 'error'; error: unknown };

/** Per-request values the passport state store reads (it only receives the request). */
const bindings = new WeakMap<Request, { binding?: string; linkUserId?: string }>();

/**
 * The passport state store of the GitHub strategy (the PKCE-aware `store(req, verifier, state,
 * meta, cb)` form): flows live in OAuthStateStore, bound to the browser by a cookie.
 */
class PassportStateStore {
  constructor(private readonly states: OAuthStateStore) {}

  store(
    req: Request,
    verifier: string,
    _state: unknown,
    _meta: unknown,
    callback: (err: unknown, state?: string) => void,
  ): void {
    const context = bindings.get(req) ?? {};
    this.states
      .save({ provider: 'github', verifier, linkUserId: context.linkUserId })
      .then(({ state, binding }) => {
        context.binding = binding;
        bindings.set(req, context);
        callback(null, state);
      })
      .catch((error: unknown) => callback(error));
  }

  verify(req: Request, state: string, callback: (err: unknown, ok?: string | false, info?: unknown) => void): void {
    this.states
      .consume(state, bindings.get(req)?.binding, 'github')
      .then((flow) => callback(null, flow.verifier, flow))
      .catch((error: unknown) =>
        error instanceof OAuthFlowError ? callback(null, false, { message: error.code }) : callback(error),
      );
  }
}

/**
 * GitHub through passport-github2, with every endpoint configurable (GitHub Enterprise, tests).
 * The strategy runs as passport runs it, with its outcomes turned into a promise.
 */
export class GitHubProvider implements ProviderClient {
  readonly name = 'github' as const;
  private readonly strategy: GitHubStrategy;

  constructor(settings: GitHubSettings, states: OAuthStateStore) {
    this.strategy = new GitHubStrategy(
      {
        clientID: settings.clientId,
        clientSecret: settings.clientSecret,
        callbackURL: settings.callbackUrl,
        authorizationURL: settings.authorizeUrl,
        tokenURL: settings.tokenUrl,
        userProfileURL: `${settings.apiUrl}/user`,
        userEmailURL: `${settings.apiUrl}/user/emails`,
        scope: ['read:user', 'user:email'],
        allRawEmails: true,
        userAgent: 'quorum',
        state: true,
        pkce: true,
        store: new PassportStateStore(states),
        passReqToCallback: false,
        // Typed by @types/passport-github2 without the PKCE/store options passport-oauth2 accepts.
      } as unknown as StrategyOptions,
      (accessToken: string, refreshToken: string, profile: Profile, done: (err: unknown, user: StrategyUser) => void) =>
        done(null, { accessToken, refreshToken: refreshToken || undefined, profile }),
    );
  }

  async begin(req: Request, flow: { linkUserId?: string }): Promise<BeginResult> {
    const context: { binding?: string; linkUserId?: string } = { linkUserId: flow.linkUserId };
    bindings.set(req, context);
    const outcome = await this.run(req);
    if (outcome.kind !== 'redirect' || !context.binding) throw new OAuthFlowError('provider_error');
    return { url: outcome.url, binding: context.binding };
  }

  async complete(req: Request, binding: string | undefined): Promise<{ identity: ProviderIdentity; flow: OAuthFlow }> {
    bindings.set(req, { binding });
    if (!req.query.code)
      throw new OAuthFlowError(req.query.error === 'access_denied' ? 'access_denied' : 'provider_error');
    const outcome = await this.run(req);
    if (outcome.kind === 'fail') throw new OAuthFlowError('invalid_state');
    if (outcome.kind !== 'success' || !outcome.info.state) throw new OAuthFlowError('provider_error');
    const { profile, accessToken, refreshToken } = outcome.user;
    // allRawEmails: passport-github2 passes GitHub's /user/emails entries through (primary, verified).
    const emails = (profile.emails ?? []) as GitHubEmail[];
    const chosen =
      emails.find((e) => e.primary && e.verified) ??
      emails.find((e) => e.verified) ??
      emails.find((e) => e.primary) ??
      emails[0];
    return {
      flow: outcome.info.state,
      identity: {
        subject: String(profile.id),
        email: chosen?.value?.toLowerCase() ?? null,
        emailVerified: chosen?.verified === true,
        name: profile.displayName || profile.username || null,
        avatarUrl: profile.photos?.[0]?.value ?? null,
        accessToken,
        refreshToken,
      },
    };
  }

  private run(req: Request): Promise<Outcome> {
    return new Promise((resolve) => {
      const strategy = Object.create(this.strategy) as GitHubStrategy & Record<string, unknown>;
      strategy.redirect = (url: string) => resolve({ kind: 'redirect', url });
      strategy.success = (user: StrategyUser, info: { state?: OAuthFlow }) =>
        resolve({ kind: 'success', user, info: info ?? {} });
      strategy.fail = (challenge: unknown) => resolve({ kind: 'fail', challenge });
      strategy.error = (error: unknown) => resolve({ kind: 'error', error });
      strategy.pass = () => resolve({ kind: 'error', error: new Error('strategy passed') });
      strategy.authenticate(req, {});
    });
  }
}
