import { generateKeyPairSync } from 'node:crypto';
import { OAuth2Server } from 'oauth2-mock-server';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { registerUser, strongPassword, uniqueEmail } from '../support/auth.js';
import { FakeGitHubOAuth, FakeGitHubUser, startFakeGitHubOAuth } from '../support/fake-github-oauth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const PUBLIC_URL = 'http://api.test';
const WEB_APP_URL = 'http://web.test';

interface OidcUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  xms_edov?: boolean;
  name?: string;
}

function setCookie(res: Response, name: string): string | undefined {
  const raw = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  const found = raw.find((c) => c.startsWith(`${name}=`));
  return found?.split(';')[0].slice(name.length + 1);
}

describe('OAuth sign-in and linking (HTTP, local providers)', () => {
  let t: TestApp;
  let github: FakeGitHubOAuth;
  let oidc: OAuth2Server;
  let oidcUser: OidcUser;

  beforeAll(async () => {
    github = await startFakeGitHubOAuth();
    oidc = new OAuth2Server();
    // keys.generate() builds the JWK in Node's own realm, which the server's plain-object check
    // rejects under jest's VM modules; a key made here and copied into a local object is accepted.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await oidc.issuer.keys.add({
      ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>),
      kid: 'test-key',
      alg: 'RS256',
      use: 'sig',
    });
    await oidc.start(0, '127.0.0.1');
    oidc.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
      // Only the ID token carries the nonce slot; put the identity claims on every token.
      Object.assign(token.payload, oidcUser);
    });
    const issuer = oidc.issuer.url!;
    t = await createTestApp({
      env: {
        PUBLIC_URL,
        WEB_APP_URL,
        GITHUB_CLIENT_ID: github.clientId,
        GITHUB_CLIENT_SECRET: github.clientSecret,
        GITHUB_AUTHORIZE_URL: `${github.url}/login/oauth/authorize`,
        GITHUB_TOKEN_URL: `${github.url}/login/oauth/access_token`,
        GITHUB_API_URL: github.url,
        GOOGLE_CLIENT_ID: 'google-client',
        GOOGLE_CLIENT_SECRET: 'google-secret',
        GOOGLE_ISSUER_URL: issuer,
        MICROSOFT_CLIENT_ID: 'ms-client',
        MICROSOFT_CLIENT_SECRET: 'ms-secret',
        MICROSOFT_ISSUER_URL: issuer,
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await github.close();
    await oidc.stop();
  });

  /** Step 1: our redirect to the provider, and the browser-binding cookie it sets. */
  async function start(provider: string, headers: Record<string, string> = {}, query = '') {
    const res = await t.http().get(`/oauth/${provider}${query}`).set(headers).expect(302);
    const binding = setCookie(res, 'oauth_binding');
    expect(binding).toBeTruthy();
    return { authorizeUrl: new URL(res.headers.location), binding: binding! };
  }

  /** Step 2: the provider's authorize endpoint answers with a redirect to our callback. */
  async function authorize(authorizeUrl: URL): Promise<URL> {
    const res = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(back.origin).toBe(PUBLIC_URL);
    return back;
  }

  /** Step 3: the callback, with the browser's cookie; returns the web-app redirect. */
  async function callback(back: URL, binding?: string): Promise<URL> {
    const req = t.http().get(back.pathname + back.search);
    if (binding) req.set('Cookie', `oauth_binding=${binding}`);
    const res = await req.expect(302);
    const target = new URL(res.headers.location);
    expect(target.origin + target.pathname).toBe(`${WEB_APP_URL}/oauth/complete`);
    return target;
  }

  /** The caller's audit records of one action. */
  async function audited(
    auth: Record<string, string>,
    action: string,
  ): Promise<Array<{ actorType: string; targetType: string; data: Record<string, unknown> }>> {
    const res = await t.http().get(`/api/v1/audit-events?limit=100&action=${action}`).set(auth).expect(200);
    return res.body.items;
  }

  async function fullFlow(provider: string, headers: Record<string, string> = {}, query = ''): Promise<URL> {
    const { authorizeUrl, binding } = await start(provider, headers, query);
    return callback(await authorize(authorizeUrl), binding);
  }

  function ghUser(email: string, verified = true): FakeGitHubUser {
    return {
      id: Math.floor(Math.random() * 1e9),
      login: email.split('@')[0],
      name: 'Grace Hopper',
      avatar_url: 'https://avatars.example/grace.png',
      emails: [{ email, primary: true, verified }],
    };
  }

  describe('GitHub (passport-github2 against a local stand-in)', () => {
    it('signs up a new user: state + PKCE S256 out, a one-time code back (no tokens in URLs), exchange gives tokens', async () => {
      const email = uniqueEmail('gh');
      github.signInAs(ghUser(email));
      const { authorizeUrl, binding } = await start('github');
      expect(authorizeUrl.origin).toBe(github.url);
      expect(authorizeUrl.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/github/callback`);
      const done = await callback(await authorize(authorizeUrl), binding);
      expect([...done.searchParams.keys()]).toEqual(['code']);
      expect(github.tokenRequests.at(-1)?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const res = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code') })
        .expect(200);
      expect(res.body).toMatchObject({
        tokenType: 'Bearer',
        user: { email, emailVerified: true, name: 'Grace Hopper' },
      });
      const me = await t
        .http()
        .get('/api/v1/users/me')
        .set('Authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
      expect(me.body.avatarUrl).toBe('https://avatars.example/grace.png');
      const accounts = await t
        .http()
        .get('/api/v1/auth/oauth/accounts')
        .set('Authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
      expect(accounts.body.items).toEqual([{ provider: 'github', email, createdAt: expect.any(String) }]);
      const [row] = await t.app
        .get(DataSource)
        .query("SELECT access_token FROM oauth_accounts WHERE provider = 'github' AND email = $1", [email]);
      expect(row.access_token).toMatch(/^v1\./); // provider token encrypted at rest

      const replay = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code') })
        .expect(401);
      expect(replay.body.code).toBe('INVALID_OAUTH_CODE');
      // Signing in again finds the same account by provider + subject.
      const again = await fullFlow('github');
      const second = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: again.searchParams.get('code') })
        .expect(200);
      expect(second.body.user.id).toBe(res.body.user.id);
    });

    it('links to an existing account only through a provider-verified email', async () => {
      const user = await registerUser(t, { verified: false });
      github.signInAs(ghUser(user.email, false));
      const refused = await fullFlow('github');
      expect(refused.searchParams.get('error')).toBe('email_not_verified');
      await t.http().get('/api/v1/auth/oauth/accounts').set(user.auth).expect(200, { items: [] });

      github.signInAs(ghUser(user.email, true));
      const done = await fullFlow('github');
      const res = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code') })
        .expect(200);
      expect(res.body.user.id).toBe(user.id);
      expect(res.body.user.emailVerified).toBe(true);
    });

    it('refuses an unverified email for a new account too', async () => {
      const email = uniqueEmail('unverified');
      github.signInAs(ghUser(email, false));
      const done = await fullFlow('github');
      expect(done.searchParams.get('error')).toBe('email_not_verified');
      const [{ count }] = await t.app
        .get(DataSource)
        .query('SELECT count(*)::int AS count FROM users WHERE email = $1', [email]);
      expect(count).toBe(0);
    });

    it('state: a missing or foreign browser cookie, a forged state and a replayed callback all fail', async () => {
      github.signInAs(ghUser(uniqueEmail('state')));
      const first = await start('github');
      const back = await authorize(first.authorizeUrl);
      const other = await start('github'); // another browser's flow
      expect((await callback(back)).searchParams.get('error')).toBe('invalid_state');

      const second = await start('github');
      const back2 = await authorize(second.authorizeUrl);
      expect((await callback(back2, other.binding)).searchParams.get('error')).toBe('invalid_state');

      const third = await start('github');
      const back3 = await authorize(third.authorizeUrl);
      const forged = new URL(back3);
      forged.searchParams.set('state', 'forged-state');
      expect((await callback(forged, third.binding)).searchParams.get('error')).toBe('invalid_state');

      const fourth = await start('github');
      const back4 = await authorize(fourth.authorizeUrl);
      expect((await callback(back4, fourth.binding)).searchParams.get('code')).toBeTruthy();
      expect((await callback(back4, fourth.binding)).searchParams.get('error')).toBe('invalid_state');
    });

    it('PKCE: a code injected into another flow fails at the token endpoint', async () => {
      github.signInAs(ghUser(uniqueEmail('pkce')));
      const victim = await start('github');
      const stolen = await authorize(victim.authorizeUrl);
      const attacker = await start('github');
      const attackerBack = await authorize(attacker.authorizeUrl);
      const injected = new URL(attackerBack);
      injected.searchParams.set('code', stolen.searchParams.get('code')!);
      expect((await callback(injected, attacker.binding)).searchParams.get('error')).toBe('provider_error');
      expect(github.tokenRequests.at(-1)?.code).toBe(stolen.searchParams.get('code'));
    });

    it('a provider error (user denied) comes back as ?error=access_denied', async () => {
      const { binding } = await start('github');
      const res = await t
        .http()
        .get('/oauth/github/callback?error=access_denied&state=x')
        .set('Cookie', `oauth_binding=${binding}`)
        .expect(302);
      expect(new URL(res.headers.location).searchParams.get('error')).toBe('access_denied');
    });

    it('links a provider to the signed-in user (link=true), once per provider identity', async () => {
      const user = await registerUser(t);
      const identity = ghUser(uniqueEmail('other-address'), false);
      github.signInAs(identity);
      await t.http().get('/oauth/github?link=true').expect(401);
      const done = await fullFlow('github', user.auth, '?link=true');
      expect(done.searchParams.get('linked')).toBe('github');
      expect(done.searchParams.get('code')).toBeNull();
      const list = await t.http().get('/api/v1/auth/oauth/accounts').set(user.auth).expect(200);
      expect(list.body.items.map((a: { provider: string }) => a.provider)).toEqual(['github']);

      expect(await audited(user.auth, 'oauth.linked')).toEqual([
        expect.objectContaining({
          actorType: 'user',
          targetType: 'oauth_account',
          data: { provider: 'github', via: 'link' },
        }),
      ]);

      const stranger = await registerUser(t);
      const taken = await fullFlow('github', stranger.auth, '?link=true');
      expect(taken.searchParams.get('error')).toBe('already_linked');
      expect(await audited(stranger.auth, 'oauth.linked')).toEqual([]);

      // Once linked, the identity signs in even though its email is not verified by GitHub.
      const login = await fullFlow('github');
      const res = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: login.searchParams.get('code') })
        .expect(200);
      expect(res.body.user.id).toBe(user.id);
      // Signing in with a linked identity links nothing new.
      expect(await audited(user.auth, 'oauth.linked')).toHaveLength(1);
    });

    it('unlinks, but not the only way to sign in', async () => {
      const email = uniqueEmail('only-gh');
      github.signInAs(ghUser(email));
      const done = await fullFlow('github');
      const res = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code') })
        .expect(200);
      const auth = { Authorization: `Bearer ${res.body.accessToken}` };
      const last = await t.http().delete('/api/v1/auth/oauth/accounts/github').set(auth).expect(409);
      expect(last.body.code).toBe('LAST_SIGN_IN_METHOD');
      const missing = await t.http().delete('/api/v1/auth/oauth/accounts/google').set(auth).expect(404);
      expect(missing.body.code).toBe('OAUTH_ACCOUNT_NOT_FOUND');
      // The account made by the provider sign-in has its link on record, and no unlink.
      expect(await audited(auth, 'oauth.linked')).toEqual([
        expect.objectContaining({ data: { provider: 'github', via: 'sign_in' } }),
      ]);
      expect(await audited(auth, 'oauth.unlinked')).toEqual([]);

      const withPassword = await registerUser(t);
      github.signInAs(ghUser(uniqueEmail('extra'), false));
      await fullFlow('github', withPassword.auth, '?link=true');
      await t.http().delete('/api/v1/auth/oauth/accounts/github').set(withPassword.auth).expect(204);
      await t.http().get('/api/v1/auth/oauth/accounts').set(withPassword.auth).expect(200, { items: [] });
      expect(await audited(withPassword.auth, 'oauth.unlinked')).toEqual([
        expect.objectContaining({ actorType: 'user', targetType: 'oauth_account', data: { provider: 'github' } }),
      ]);
      expect(await audited(auth, 'oauth.unlinked')).toEqual([]);
      await t.http().delete('/api/v1/auth/oauth/accounts/github').expect(401);
    });

    it('a user with 2FA gets the second step after the exchange; a deactivated one gets an error', async () => {
      const user = await registerUser(t);
      await t.app
        .get(DataSource)
        .query("UPDATE users SET totp_enabled = true, totp_secret = 'x' WHERE id = $1", [user.id]);
      github.signInAs(ghUser(user.email));
      const done = await fullFlow('github');
      const res = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code') })
        .expect(200);
      expect(res.body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });

      const admin = await registerUser(t, { role: 'admin' });
      const disabled = await registerUser(t);
      await t.http().patch(`/api/v1/users/${disabled.id}`).set(admin.auth).send({ isActive: false }).expect(200);
      github.signInAs(ghUser(disabled.email));
      expect((await fullFlow('github')).searchParams.get('error')).toBe('account_disabled');
    });

    it('exchange refuses bad input', async () => {
      const res = await t.http().post('/api/v1/auth/oauth/exchange').send({ code: 'nope' }).expect(401);
      expect(res.body.code).toBe('INVALID_OAUTH_CODE');
      await t.http().post('/api/v1/auth/oauth/exchange').send({}).expect(400);
      await t.http().post('/api/v1/auth/oauth/exchange').send({ code: 'x', userId: 'y' }).expect(400);
    });
  });

  describe('Google and Microsoft (OIDC discovery against oauth2-mock-server)', () => {
    it.each(['google', 'microsoft'])(
      '%s: signs in with a verified email; PKCE, state and nonce are sent',
      async (provider) => {
        const email = uniqueEmail(provider);
        oidcUser = { sub: `${provider}-${email}`, email, email_verified: true, name: 'Ada Lovelace' };
        const { authorizeUrl, binding } = await start(provider);
        expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
        expect(authorizeUrl.searchParams.get('nonce')).toBeTruthy();
        expect(authorizeUrl.searchParams.get('state')).toBeTruthy();
        expect(authorizeUrl.searchParams.get('scope')).toBe('openid email profile');
        const done = await callback(await authorize(authorizeUrl), binding);
        const res = await t
          .http()
          .post('/api/v1/auth/oauth/exchange')
          .send({ code: done.searchParams.get('code') })
          .expect(200);
        expect(res.body.user).toMatchObject({ email, emailVerified: true, name: 'Ada Lovelace' });
      },
    );

    it("microsoft: Entra's xms_edov claim counts as a verified email (Entra sends no email_verified); google: it does not", async () => {
      const email = uniqueEmail('entra');
      oidcUser = { sub: `ms-${email}`, email, xms_edov: true };
      const done = await fullFlow('microsoft');
      await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code') })
        .expect(200);
      oidcUser = { sub: `g-${email}`, email: uniqueEmail('g-edov'), xms_edov: true };
      expect((await fullFlow('google')).searchParams.get('error')).toBe('email_not_verified');
    });

    it('refuses an unverified email', async () => {
      oidcUser = { sub: `g-${Date.now()}`, email: uniqueEmail('gu'), email_verified: false };
      expect((await fullFlow('google')).searchParams.get('error')).toBe('email_not_verified');
    });

    it('state mismatch and PKCE failure', async () => {
      oidcUser = { sub: `g-${Date.now()}`, email: uniqueEmail('gs'), email_verified: true };
      const a = await start('google');
      const backA = await authorize(a.authorizeUrl);
      const b = await start('google');
      expect((await callback(backA, b.binding)).searchParams.get('error')).toBe('invalid_state');

      const victim = await start('google');
      const stolen = await authorize(victim.authorizeUrl);
      const attacker = await start('google');
      const attackerBack = await authorize(attacker.authorizeUrl);
      const injected = new URL(attackerBack);
      injected.searchParams.set('code', stolen.searchParams.get('code')!);
      expect((await callback(injected, attacker.binding)).searchParams.get('error')).toBe('provider_error');
    });

    it('cookie mode on exchange', async () => {
      const email = uniqueEmail('gc');
      oidcUser = { sub: `g-${email}`, email, email_verified: true };
      const done = await fullFlow('google');
      const res = await t
        .http()
        .post('/api/v1/auth/oauth/exchange')
        .send({ code: done.searchParams.get('code'), cookie: true })
        .expect(200);
      expect(res.body.accessToken).toBeUndefined();
      expect(setCookie(res, 'access_token')).toBeTruthy();
    });
  });

  it('unknown providers are 404', async () => {
    const res = await t.http().get('/oauth/gitlab').expect(404);
    expect(res.body.code).toBe('OAUTH_PROVIDER_NOT_FOUND');
    await t.http().get('/oauth/gitlab/callback').expect(404);
  });
});

describe('OAuth without provider credentials', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(['github', 'google', 'microsoft'])('%s is off: 404', async (provider) => {
    const res = await t.http().get(`/oauth/${provider}`).expect(404);
    expect(res.body.code).toBe('OAUTH_PROVIDER_NOT_FOUND');
    await t.http().get(`/oauth/${provider}/callback?code=x&state=y`).expect(404);
  });

  it('a password is still needed to register', async () => {
    const email = uniqueEmail();
    const refused = await t.http().post('/api/v1/auth/register').send({ email }).expect(400);
    expect(refused.body.code).toBe('VALIDATION_FAILED');
    expect(refused.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'password' })]));
    await t.http().post('/api/v1/auth/register').send({ email, password: strongPassword() }).expect(201);
  });
});
