import { createHash, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGitHubUser {
  id: number;
  login: string;
  name?: string;
  avatar_url?: string;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
}

export interface FakeGitHubOAuth {
  url: string;
  clientId: string;
  clientSecret: string;
  /** The user the next authorization signs in as. */
  signInAs(user: FakeGitHubUser): void;
  /** Every token request, to assert on (e.g. the code_verifier sent). */
  tokenRequests: Array<Record<string, string>>;
  close(): Promise<void>;
}

interface Grant {
  user: FakeGitHubUser;
  redirectUri: string;
  challenge?: string;
  method?: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * A small stand-in for GitHub's OAuth app endpoints, speaking GitHub's wire format:
 * /login/oauth/authorize (redirects back at once, as if the user approved), /login/oauth/access_token
 * (single-use codes, redirect_uri and PKCE S256 checked, errors as 200 + {error} like GitHub),
 * /user and /user/emails (Bearer or `token` auth).
 */
export async function startFakeGitHubOAuth(): Promise<FakeGitHubOAuth> {
  const clientId = 'gh-client';
  const clientSecret = 'gh-secret';
  const grants = new Map<string, Grant>();
  const tokens = new Map<string, FakeGitHubUser>();
  const tokenRequests: Array<Record<string, string>> = [];
  let current: FakeGitHubUser | undefined;

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
        const redirectUri = url.searchParams.get('redirect_uri');
        if (url.searchParams.get('client_id') !== clientId || !redirectUri || !current)
          return json(res, 400, { error: 'bad request' });
        const code = randomBytes(10).toString('hex');
        grants.set(code, {
          user: current,
          redirectUri,
          challenge: url.searchParams.get('code_challenge') ?? undefined,
          method: url.searchParams.get('code_challenge_method') ?? undefined,
        });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        const state = url.searchParams.get('state');
        if (state) back.searchParams.set('state', state);
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const body = Object.fromEntries(new URLSearchParams(await readBody(req)));
        tokenRequests.push(body);
        const grant = grants.get(body.code);
        grants.delete(body.code); // single use, as GitHub's codes are
        if (body.client_id !== clientId || body.client_secret !== clientSecret)
          return json(res, 200, { error: 'incorrect_client_credentials' });
        if (!grant || grant.redirectUri !== body.redirect_uri)
          return json(res, 200, { error: 'bad_verification_code' });
        if (grant.challenge) {
          const computed = createHash('sha256')
            .update(body.code_verifier ?? '')
            .digest('base64url');
          if (grant.method !== 'S256' || computed !== grant.challenge)
            return json(res, 200, { error: 'bad_verification_code' });
        }
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.user);
        return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      }
      const auth = /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const user = auth ? tokens.get(auth) : undefined;
      if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) {
        if (!user) return json(res, 401, { message: 'Bad credentials' });
        if (url.pathname === '/user') {
          const primary = user.emails.find((e) => e.primary);
          return json(res, 200, {
            id: user.id,
            login: user.login,
            name: user.name ?? null,
            avatar_url: user.avatar_url ?? null,
            email: primary?.email ?? null,
          });
        }
        return json(
          res,
          200,
          user.emails.map((e) => ({ ...e, visibility: 'private' })),
        );
      }
      json(res, 404, { message: 'Not Found' });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    signInAs: (user) => {
      current = user;
    },
    tokenRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
