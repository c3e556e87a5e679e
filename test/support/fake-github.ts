import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedGitHubRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type GitHubResponder = (req: RecordedGitHubRequest) => { status: number; body: unknown } | undefined;

export interface FakeGitHub {
  /** Use as GITHUB_API_URL. */
  url: string;
  requests: RecordedGitHubRequest[];
  /** Replaces the default behaviour for the next matching requests (return undefined to fall through). */
  respond(responder: GitHubResponder): void;
  close(): Promise<void>;
}

/**
 * A stand-in for the GitHub REST endpoints Quorum calls: POST /repos/:owner/:repo/pulls (201 with
 * number and html_url, 422 when an open PR for the head exists) and GET …/pulls?head=. It requires
 * `Authorization: Bearer <token>` with the given token (401 otherwise, like GitHub).
 */
export async function startFakeGitHub(token: string): Promise<FakeGitHub> {
  const requests: RecordedGitHubRequest[] = [];
  const pulls: Array<{ owner: string; repo: string; number: number; head: string; base: string; html_url: string }> =
    [];
  let responder: GitHubResponder | undefined;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: RecordedGitHubRequest = {
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      };
      requests.push(recorded);
      const custom = responder?.(recorded);
      if (custom) return send(res, custom.status, custom.body);
      if (req.headers.authorization !== `Bearer ${token}`) {
        return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      }
      const match = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(url.pathname);
      if (!match) return send(res, 404, { message: 'Not Found' });
      const [, owner, repo] = match;
      if (req.method === 'GET') {
        const head = url.searchParams.get('head') ?? '';
        return send(
          res,
          200,
          pulls.filter((p) => p.owner === owner && p.repo === repo && `${owner}:${p.head}` === head),
        );
      }
      const body = recorded.body as { head?: string; base?: string; title?: string };
      if (!body?.head || !body.base || !body.title)
        return send(res, 422, { message: 'Validation Failed', errors: [{ code: 'missing_field' }] });
      if (pulls.some((p) => p.owner === owner && p.repo === repo && p.head === body.head)) {
        return send(res, 422, {
          message: 'Validation Failed',
          errors: [
            {
              resource: 'PullRequest',
              code: 'custom',
              message: `A pull request already exists for ${owner}:${body.head}.`,
            },
          ],
        });
      }
      const number = pulls.length + 1;
      const pull = {
        owner,
        repo,
        number,
        head: body.head,
        base: body.base,
        html_url: `https://github.test/${owner}/${repo}/pull/${number}`,
      };
      pulls.push(pull);
      send(res, 201, {
        id: 1000 + number,
        number,
        html_url: pull.html_url,
        state: 'open',
        head: { ref: body.head },
        base: { ref: body.base },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond: (r) => {
      responder = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
