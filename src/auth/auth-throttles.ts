/**
 * Stricter per-route limits (per IP before sign-in, per user after) on the routes that guess
 * credentials or send mail, on top of the account/IP lockout of AttemptsService.
 */
export const SIGN_IN_THROTTLE = { default: { limit: 10, ttl: 60_000 } };
/** Routes that send mail or consume mailed tokens. */
export const MAIL_THROTTLE = { default: { limit: 5, ttl: 60_000 } };
