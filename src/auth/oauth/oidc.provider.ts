import type { Request } from 'express';
import * as oidc from 'openid-client';
import type { OAuthProvider } from '../entities/oauth-account.entity.js';
import type { OAuthStateStore, OAuthFlow } from './oauth-state.store.js';
import type { BeginResult, ProviderClient, ProviderIdentity } from './oauth-provider.js';
import { OAuthFlowError } from './oauth.errors.js';

export interface OidcSettings {
  clientId: string;
  clientSecret: string;
  issuerUrl: string;
  callbackUrl: string;
  /** Public URL of this API: the callback's request URL is rebuilt on it for the code grant. */
  publicUrl: string;
}

/**
 * Google and Microsoft through OpenID Connect discovery (openid-client 6): authorization code flow
 * with PKCE S256, state and nonce; the ID token's signature, issuer, audience, expiry and nonce
 * are checked by openid-client.
 */
export class OidcProvider implements ProviderClient {
  private configuration?: Promise<oidc.Configuration>;

  constructor(
    readonly name: Exclude<OAuthProvider, 'github'>,
    private readonly settings: OidcSettings,
    private readonly states: OAuthStateStore,
  ) {}

  async begin(_req: Request, flow: { linkUserId?: string }): Promise<BeginResult> {
    const config = await this.config();
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const { state, binding } = await this.states.save({
      provider: this.name,
      verifier,
      nonce,
      linkUserId: flow.linkUserId,
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.callbackUrl,
      scope: 'openid email profile',
      response_type: 'code',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, binding };
  }

  async complete(req: Request, binding: string | undefined): Promise<{ identity: ProviderIdentity; flow: OAuthFlow }> {
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    const flow = await this.states.consume(state, binding, this.name);
    if (req.query.error)
      throw new OAuthFlowError(req.query.error === 'access_denied' ? 'access_denied' : 'provider_error');
    const config = await this.config();
    const currentUrl = new URL(req.originalUrl, this.settings.publicUrl);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw Object.assign(new OAuthFlowError('provider_error', (error as Error).message), { cause: error });
    }
    const claims = tokens.claims();
    if (!claims?.sub) throw new OAuthFlowError('provider_error');
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : null;
    return {
      flow,
      identity: {
        subject: claims.sub,
        email,
        emailVerified: this.emailVerified(claims),
        name: typeof claims.name === 'string' ? claims.name : null,
        avatarUrl: typeof claims.picture === 'string' ? claims.picture : null,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
      },
    };
  }

  /**
   * Google states `email_verified`. Microsoft Entra ID tokens do not; there the optional claim
   * `xms_edov` (the email's domain is verified by its owner) is the equivalent to ask for.
   */
  private emailVerified(claims: Record<string, unknown>): boolean {
    if (claims.email_verified === true) return true;
    return this.name === 'microsoft' && claims.xms_edov === true;
  }

  /** Discovered once; a failed discovery is retried on the next request. */
  private config(): Promise<oidc.Configuration> {
    this.configuration ??= oidc
      .discovery(
        new URL(this.settings.issuerUrl),
        this.settings.clientId,
        this.settings.clientSecret,
        undefined,
        // Plain http only for local issuers (development, tests); https everywhere else.
        new URL(this.settings.issuerUrl).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        this.configuration = undefined;
        throw Object.assign(new OAuthFlowError('provider_error', 'OIDC discovery failed'), { cause: error });
      });
    return this.configuration;
  }
}
