import { timingSafeEqual } from 'node:crypto';
import type { CookieOptions, Request, Response } from 'express';
import { API_PREFIX } from '#src/bootstrap/configure-http-app.js';
import { randomToken } from './tokens.service.js';

export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';
export const CSRF_COOKIE = 'csrf_token';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The refresh cookie only travels to the auth routes that use it. */
const REFRESH_COOKIE_PATH = `/${API_PREFIX}/auth`;

export interface CookieTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  refreshExpiresIn: number;
}

function base(secure: boolean): CookieOptions {
  return { secure, sameSite: 'lax', path: '/' };
}

/**
 * Cookie mode (the browser client): access and refresh tokens in httpOnly, SameSite=Lax cookies
 * (Secure in production), plus a readable `csrf_token` cookie for the double-submit check.
 */
export function setAuthCookies(res: Response, tokens: CookieTokens, secure: boolean): string {
  const csrf = randomToken(24);
  res.cookie(ACCESS_COOKIE, tokens.accessToken, { ...base(secure), httpOnly: true, maxAge: tokens.expiresIn * 1000 });
  res.cookie(REFRESH_COOKIE, tokens.refreshToken, {
    ...base(secure),
    httpOnly: true,
    path: REFRESH_COOKIE_PATH,
    maxAge: tokens.refreshExpiresIn * 1000,
  });
  res.cookie(CSRF_COOKIE, csrf, { ...base(secure), httpOnly: false, maxAge: tokens.refreshExpiresIn * 1000 });
  return csrf;
}

export function clearAuthCookies(res: Response, secure: boolean): void {
  res.clearCookie(ACCESS_COOKIE, { ...base(secure), httpOnly: true });
  res.clearCookie(REFRESH_COOKIE, { ...base(secure), httpOnly: true, path: REFRESH_COOKIE_PATH });
  res.clearCookie(CSRF_COOKIE, base(secure));
}

export function cookie(req: Request, name: string): string | undefined {
  const value = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Double submit: on unsafe methods the X-CSRF-Token header must equal the csrf_token cookie. */
export function csrfSatisfied(req: Request): boolean {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return true;
  const header = req.headers[CSRF_HEADER];
  const expected = cookie(req, CSRF_COOKIE);
  if (typeof header !== 'string' || !expected) return false;
  const a = Buffer.from(header);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
