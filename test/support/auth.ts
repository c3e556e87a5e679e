import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { TestApp } from './test-app.js';

export interface RegisterUserOptions {
  /** Mark the email verified (default true). */
  verified?: boolean;
  role?: 'user' | 'admin';
  email?: string;
  password?: string;
  name?: string;
}

export interface RegisteredUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** `{ Authorization: 'Bearer …' }`, to spread into supertest `.set(...)`. */
  auth: Record<string, string>;
}

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.test`;
}

/** A password no common-password list holds. */
export function strongPassword(): string {
  return `Pw-${randomBytes(12).toString('base64url')}`;
}

/**
 * Signs up a user through the real API, sets verification and role directly in the database (as
 * the email link and an admin would), then signs in and returns the tokens.
 */
export async function registerUser(t: TestApp, opts: RegisterUserOptions = {}): Promise<RegisteredUser> {
  const email = (opts.email ?? uniqueEmail()).toLowerCase();
  const password = opts.password ?? strongPassword();
  const registered = await t
    .http()
    .post('/api/v1/auth/register')
    .send({ email, password, ...(opts.name ? { name: opts.name } : {}) });
  if (registered.status !== 201)
    throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  const id = registered.body.user.id as string;
  const verified = opts.verified ?? true;
  const role = opts.role ?? 'user';
  await t.app
    .get(DataSource)
    .query('UPDATE users SET email_verified = $2, role = $3 WHERE id = $1', [id, verified, role]);
  const login = await t.http().post('/api/v1/auth/login').send({ email, password });
  if (login.status !== 200 || !login.body.accessToken) {
    throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  }
  const accessToken = login.body.accessToken as string;
  return {
    id,
    email,
    password,
    accessToken,
    refreshToken: login.body.refreshToken as string,
    auth: { Authorization: `Bearer ${accessToken}` },
  };
}
