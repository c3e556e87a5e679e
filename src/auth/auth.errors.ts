import { DomainError, ForbiddenError, UnauthorizedError } from '#src/common/errors.js';

export class InvalidCredentialsError extends UnauthorizedError {
  constructor() {
    super('INVALID_CREDENTIALS', 'The email or password is not correct.');
  }
}

export class InvalidTokenError extends UnauthorizedError {
  constructor(message = 'The access token is not valid.') {
    super('INVALID_TOKEN', message);
  }
}

export class TokenExpiredError extends UnauthorizedError {
  constructor() {
    super('TOKEN_EXPIRED', 'The access token has expired.');
  }
}

export class SessionRevokedError extends UnauthorizedError {
  constructor() {
    super('SESSION_REVOKED', 'This session has ended; sign in again.');
  }
}

export class InvalidRefreshTokenError extends UnauthorizedError {
  constructor() {
    super('INVALID_REFRESH_TOKEN', 'The refresh token is not valid.');
  }
}

export class TokenReusedError extends UnauthorizedError {
  constructor() {
    super('TOKEN_REUSED', 'This refresh token was already used; the session has been revoked.');
  }
}

export class AccountDisabledError extends ForbiddenError {
  constructor() {
    super('ACCOUNT_DISABLED', 'This account has been deactivated.');
  }
}

export class EmailNotVerifiedError extends ForbiddenError {
  constructor() {
    super(
      'EMAIL_NOT_VERIFIED',
      'Verify your email address first: open the link in the verification mail (without SMTP_URL, development writes the mail to the server log), or send its token to POST /api/v1/auth/verify-email {"token"}; POST /api/v1/auth/resend-verification {"email"} sends a new mail.',
    );
  }
}

export class InsufficientRoleError extends ForbiddenError {
  constructor() {
    super('FORBIDDEN', 'Your role does not allow this.');
  }
}

export class CsrfError extends ForbiddenError {
  constructor() {
    super(
      'CSRF_TOKEN_INVALID',
      "The X-CSRF-Token header is missing or is not this session's CSRF token (login, refresh and GET /auth/csrf answer it).",
    );
  }
}

export class PasswordTooCommonError extends DomainError {
  constructor(field = 'password') {
    super('PASSWORD_TOO_COMMON', 'This password is too common; choose another.', 400, {
      errors: [{ field, message: 'is one of the most common passwords' }],
    });
  }
}

export class InvalidEmailTokenError extends DomainError {
  constructor() {
    super('INVALID_TOKEN', 'The link is not valid or has expired.', 400);
  }
}

export class InvalidMfaTokenError extends UnauthorizedError {
  constructor() {
    super('INVALID_MFA_TOKEN', 'The sign-in step has expired; sign in again.');
  }
}

export class InvalidTwoFactorCodeError extends UnauthorizedError {
  constructor() {
    super('INVALID_2FA_CODE', 'The code is not valid.');
  }
}
