/**
 * A failed provider round trip. The callback answers every one of these with a redirect to
 * `${WEB_APP_URL}/oauth/complete?error=<code>`, never with a page of its own.
 */
export class OAuthFlowError extends Error {
  constructor(
    readonly code:
      | 'invalid_state'
      | 'access_denied'
      | 'provider_error'
      | 'email_not_verified'
      | 'email_missing'
      | 'account_disabled'
      | 'already_linked',
    message: string = code,
  ) {
    super(message);
    this.name = 'OAuthFlowError';
  }
}
