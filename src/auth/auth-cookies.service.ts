import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { CookieOptions, Response } from 'express';
import type { AllConfig } from '#src/config/namespaces.js';
import { ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE, REFRESH_COOKIE_PATH } from './auth-cookies.js';
import { CsrfService } from './csrf.service.js';

export interface CookieTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/**
 * Cookie mode (the browser client): access and refresh tokens in httpOnly cookies, out of reach of
 * page scripts, plus a readable `csrf_token` cookie. The CSRF token is also answered in the body,
 * since an app on another origin cannot read the API host's cookies. SameSite and Domain come from
 * COOKIE_SAMESITE / COOKIE_DOMAIN; cookies are Secure in production and always with SameSite=None,
 * which browsers accept only on Secure cookies.
 */
@Injectable()
export class AuthCookiesService {
  private readonly base: CookieOptions;
  private readonly refreshTtlMs: number;

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly csrf: CsrfService,
  ) {
    const auth = config.get('auth', { infer: true });
    const { sameSite, domain } = auth.cookies;
    this.base = {
      secure: config.get('app', { infer: true }).production || sameSite === 'none',
      sameSite,
      path: '/',
      ...(domain ? { domain } : {}),
    };
    this.refreshTtlMs = auth.refreshTokenTtlSeconds * 1000;
  }

  /** Sets the three cookies of a session and returns its CSRF token. */
  set(res: Response, tokens: CookieTokens, sessionId: string): string {
    const csrfToken = this.csrf.tokenFor(sessionId);
    res.cookie(ACCESS_COOKIE, tokens.accessToken, { ...this.base, httpOnly: true, maxAge: tokens.expiresIn * 1000 });
    res.cookie(REFRESH_COOKIE, tokens.refreshToken, {
      ...this.base,
      httpOnly: true,
      path: REFRESH_COOKIE_PATH,
      maxAge: this.refreshTtlMs,
    });
    this.setCsrf(res, csrfToken);
    return csrfToken;
  }

  /** The readable CSRF cookie alone (GET /auth/csrf refreshes it). */
  setCsrf(res: Response, csrfToken: string): void {
    res.cookie(CSRF_COOKIE, csrfToken, { ...this.base, httpOnly: false, maxAge: this.refreshTtlMs });
  }

  clear(res: Response): void {
    res.clearCookie(ACCESS_COOKIE, { ...this.base, httpOnly: true });
    res.clearCookie(REFRESH_COOKIE, { ...this.base, httpOnly: true, path: REFRESH_COOKIE_PATH });
    res.clearCookie(CSRF_COOKIE, this.base);
  }
}
