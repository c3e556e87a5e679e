import { SetMetadata } from '@nestjs/common';
import type { ScopeAccess, ScopedResource } from '../api-keys/api-key-scopes.js';

export const API_KEY_ACCESS = 'quorum:apiKeyAccess';

/**
 * How API keys may reach a route. Routes without this metadata refuse keys (403
 * INSUFFICIENT_SCOPE): a new route is closed to keys until it says which scope opens it.
 */
export type ApiKeyAccess =
  { kind: 'scope'; resource: ScopedResource; access?: ScopeAccess } | { kind: 'any' } | { kind: 'account' };

/**
 * The route (or every route of the controller) needs `<resource>:read` for GET/HEAD and
 * `<resource>:write` for other methods, unless `access` fixes one.
 */
export const KeyScope = (resource: ScopedResource, access?: ScopeAccess) =>
  SetMetadata(API_KEY_ACCESS, { kind: 'scope', resource, access } satisfies ApiKeyAccess);

/** Any valid key may call it (e.g. `GET /users/me`, which says whose key it is). */
export const AnyApiKey = () => SetMetadata(API_KEY_ACCESS, { kind: 'any' } satisfies ApiKeyAccess);

/** An account route: keys get 403 API_KEY_NOT_ALLOWED, whatever their scopes. */
export const AccountRoute = () => SetMetadata(API_KEY_ACCESS, { kind: 'account' } satisfies ApiKeyAccess);
