import type { ApiKeyScope } from './api-keys/api-key-scopes.js';

/** The API key a request authenticated with (`Authorization: Bearer qk_…`). */
export interface AuthApiKey {
  id: string;
  scopes: readonly ApiKeyScope[];
  /** The organization the key is bound to, if any. */
  orgId: string | null;
}

/** The signed-in user as guards put it on the request (`@CurrentUser()`). */
export interface AuthUser {
  id: string;
  email: string;
  role: 'user' | 'admin';
  emailVerified: boolean;
  /**
   * The session (device) the access token belongs to. For an API key, the key's id: the routes that
   * act on sessions are account routes, which refuse keys.
   */
  sessionId: string;
  /** The user's state generation as authentication read it for this request (see UserStateCache). */
  stateGen?: number;
  /** Set when the request carries an API key instead of a session. */
  apiKey?: AuthApiKey;
}
