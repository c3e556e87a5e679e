import type { Request } from 'express';
import type { OAuthProvider } from '../entities/oauth-account.entity.js';
import type { OAuthFlow } from './oauth-state.store.js';

/** Who the provider says signed in. */
export interface ProviderIdentity {
  /** The provider's stable subject id (GitHub numeric id, OIDC `sub`). */
  subject: string;
  email: string | null;
  /** Only a provider-verified email may link to an existing account or create one. */
  emailVerified: boolean;
  name: string | null;
  avatarUrl: string | null;
  accessToken?: string;
  refreshToken?: string;
}

export interface BeginResult {
  url: string;
  binding: string;
}

export interface ProviderClient {
  readonly name: OAuthProvider;
  /** The provider's authorization URL (with state and PKCE) for a new flow. */
  begin(req: Request, flow: { linkUserId?: string }): Promise<BeginResult>;
  /** Handles the callback request: checks state, redeems the code, reads the identity. */
  complete(req: Request, binding: string | undefined): Promise<{ identity: ProviderIdentity; flow: OAuthFlow }>;
}
