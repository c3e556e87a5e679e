import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envInt, envList, envUrl, parseEnv } from './env.js';

const optionalUrl = () => envUrl(['http', 'https']).optional();

export const authConfig = registerAs('auth', () => {
  const env = parseEnv({
    JWT_ISSUER: z.string().optional().default('quorum'),
    JWT_AUDIENCE: z.string().optional().default('quorum-api'),
    ACCESS_TOKEN_TTL_SECONDS: envInt(15 * 60, 30, 24 * 3600),
    REFRESH_TOKEN_TTL_SECONDS: envInt(7 * 24 * 3600, 60, 365 * 24 * 3600),
    MFA_TOKEN_TTL_SECONDS: envInt(5 * 60, 30, 3600),
    EMAIL_VERIFICATION_TTL_SECONDS: envInt(24 * 3600, 60, 30 * 24 * 3600),
    PASSWORD_RESET_TTL_SECONDS: envInt(30 * 60, 60, 24 * 3600),
    ADMIN_EMAILS: envList(),
    ARGON2_MEMORY_KIB: envInt(19_456, 1024, 1_048_576),
    ARGON2_TIME_COST: envInt(2, 1, 20),
    ARGON2_PARALLELISM: envInt(1, 1, 16),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: envInt(10, 1, 1000),
    LOGIN_MAX_FAILURES_PER_IP: envInt(50, 1, 100_000),
    MFA_MAX_FAILURES: envInt(5, 1, 1000),
    LOCKOUT_SECONDS: envInt(15 * 60, 1, 24 * 3600),
    AUTH_STATE_CACHE_SECONDS: envInt(60, 0, 3600),
    // Cookie mode across origins (README, "Web client"): a Domain shared by subdomains, and SameSite.
    COOKIE_DOMAIN: z
      .string()
      .regex(/^\.?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, {
        message: 'must be a host name such as example.com (no scheme, port or path)',
      })
      .optional(),
    COOKIE_SAMESITE: z.enum(['lax', 'strict', 'none']).optional().default('lax'),
    GITHUB_CLIENT_ID: z.string().optional(),
    GITHUB_CLIENT_SECRET: z.string().optional(),
    GITHUB_AUTHORIZE_URL: optionalUrl().default('https://github.com/login/oauth/authorize'),
    GITHUB_TOKEN_URL: optionalUrl().default('https://github.com/login/oauth/access_token'),
    GITHUB_API_URL: optionalUrl().default('https://api.github.com'),
    GOOGLE_CLIENT_ID: z.string().optional(),
    GOOGLE_CLIENT_SECRET: z.string().optional(),
    GOOGLE_ISSUER_URL: optionalUrl().default('https://accounts.google.com'),
    MICROSOFT_CLIENT_ID: z.string().optional(),
    MICROSOFT_CLIENT_SECRET: z.string().optional(),
    MICROSOFT_ISSUER_URL: optionalUrl().default('https://login.microsoftonline.com/common/v2.0'),
  });
  const provider = (clientId?: string, clientSecret?: string) =>
    clientId && clientSecret ? { clientId, clientSecret } : undefined;
  const github = provider(env.GITHUB_CLIENT_ID, env.GITHUB_CLIENT_SECRET);
  const google = provider(env.GOOGLE_CLIENT_ID, env.GOOGLE_CLIENT_SECRET);
  const microsoft = provider(env.MICROSOFT_CLIENT_ID, env.MICROSOFT_CLIENT_SECRET);
  return {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    mfaTokenTtlSeconds: env.MFA_TOKEN_TTL_SECONDS,
    emailVerificationTtlSeconds: env.EMAIL_VERIFICATION_TTL_SECONDS,
    passwordResetTtlSeconds: env.PASSWORD_RESET_TTL_SECONDS,
    adminEmails: env.ADMIN_EMAILS.map((email) => email.toLowerCase()),
    argon2: { memoryCost: env.ARGON2_MEMORY_KIB, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM },
    lockout: {
      maxFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      maxMfaFailures: env.MFA_MAX_FAILURES,
      seconds: env.LOCKOUT_SECONDS,
    },
    stateCacheSeconds: env.AUTH_STATE_CACHE_SECONDS,
    cookies: { domain: env.COOKIE_DOMAIN?.replace(/^\./, '').toLowerCase(), sameSite: env.COOKIE_SAMESITE },
    oauth: {
      github: github && {
        ...github,
        authorizeUrl: env.GITHUB_AUTHORIZE_URL,
        tokenUrl: env.GITHUB_TOKEN_URL,
        apiUrl: env.GITHUB_API_URL.replace(/\/$/, ''),
      },
      google: google && { ...google, issuerUrl: env.GOOGLE_ISSUER_URL },
      microsoft: microsoft && { ...microsoft, issuerUrl: env.MICROSOFT_ISSUER_URL },
    },
  };
});
export type AuthConfig = ReturnType<typeof authConfig>;
