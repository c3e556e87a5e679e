/** What an API key may be granted (API.md "API keys"). */
export const API_KEY_SCOPES = [
  'tasks:read',
  'tasks:write',
  'runs:read',
  'runs:write',
  'repositories:read',
  'repositories:write',
  'webhooks:read',
  'webhooks:write',
  'metrics:read',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** The resource half of a scope; a route names one and the HTTP method picks read or write. */
export type ScopedResource = ApiKeyScope extends `${infer R}:${string}` ? R : never;
export type ScopeAccess = 'read' | 'write';

/** `qk_` + base64url of 32 random bytes. */
export const API_KEY_PATTERN = /^qk_[A-Za-z0-9_-]{43}$/;
/** `qk_` and the first 8 characters of the secret: enough to recognise a key in a list. */
export const API_KEY_PREFIX_LENGTH = 11;

export function isApiKeyToken(token: string): boolean {
  return token.startsWith('qk_');
}
