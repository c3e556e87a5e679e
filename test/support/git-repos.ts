import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Real git repositories for tests: a bare "remote" seeded with files, fresh clones to check results,
 * and a smart-HTTP server (git http-backend behind node:http) that demands a token, so a wrong
 * token is refused by a real git server.
 */
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Seed Author',
  GIT_AUTHOR_EMAIL: 'seed@example.com',
  GIT_COMMITTER_NAME: 'Seed Author',
  GIT_COMMITTER_EMAIL: 'seed@example.com',
};

export function git(args: string[], cwd?: string, input?: string): string {
  return execFileSync('git', ['-c', 'protocol.file.allow=always', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: GIT_ENV,
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export interface BareRepo {
  /** Directory holding the bare repositories (the http server's project root). */
  root: string;
  /** Absolute path of the bare repository (`<root>/<owner>/<name>.git`). */
  path: string;
  /** `owner/name.git` relative to root. */
  relative: string;
  cleanup(): void;
}

/** A bare repository at `<root>/acme/widgets.git` whose `main` (and any extra branches) hold `files`. */
export function createBareRepo(
  files: Record<string, string> = { 'README.md': '# widgets\n', 'src/index.js': 'export const answer = 42;\n' },
  options: { branches?: string[]; symlinks?: Record<string, string>; owner?: string; name?: string } = {},
): BareRepo {
  const root = mkdtempSync(join(tmpdir(), 'quorum-git-'));
  const relative = `${options.owner ?? 'acme'}/${options.name ?? 'widgets'}.git`;
  const path = join(root, relative);
  mkdirSync(path, { recursive: true });
  git(['init', '-q', '--bare', path]);
  const work = mkdtempSync(join(tmpdir(), 'quorum-seed-'));
  git(['init', '-q', work]);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, file)), { recursive: true });
    writeFileSync(join(work, file), content);
  }
  for (const [link, target] of Object.entries(options.symlinks ?? {})) {
    execFileSync('ln', ['-s', target, join(work, link)]);
  }
  git(['add', '-A'], work);
  git(['commit', '-q', '-m', 'Initial commit'], work);
  git(['push', '-q', path, 'HEAD:refs/heads/main'], work);
  for (const branch of options.branches ?? []) git(['push', '-q', path, `HEAD:refs/heads/${branch}`], work);
  rmSync(work, { recursive: true, force: true });
  return { root, path, relative, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A fresh non-bare clone of `source` (path or URL) in a temp dir. */
export function freshClone(source: string, branch = 'main'): { dir: string; cleanup(): void } {
  const parent = mkdtempSync(join(tmpdir(), 'quorum-clone-'));
  const dir = join(parent, 'repo');
  git(['clone', '-q', '--branch', branch, source, dir]);
  return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

export interface GitHttpServer {
  /** Base URL: `${url}/acme/widgets.git` is a clone URL. */
  url: string;
  /** Authorization header values the server saw, in order (undefined when a request carried none). */
  authorizations: Array<string | undefined>;
  /** Changes the accepted token (a revoked token, from then on). */
  setToken(token: string): void;
  close(): Promise<void>;
}

/**
 * Smart HTTP git server (git http-backend as CGI) that accepts only `token`: as
 * `Authorization: Basic base64(<any user>:<token>)` or `Authorization: Bearer <token>`.
 * Pushes are enabled. Anything else gets 401 with a Basic challenge, like GitHub.
 */
export async function startGitHttpServer(
  projectRoot: string,
  initialToken: string,
  options: { chunkDelayMs?: number } = {},
): Promise<GitHttpServer> {
  let token = initialToken;
  const authorizations: Array<string | undefined> = [];
  const authorized = (header: string | undefined): boolean => {
    if (!header) return false;
    const [scheme, value = ''] = header.split(' ');
    if (/^bearer$/i.test(scheme)) return value === token;
    if (!/^basic$/i.test(scheme)) return false;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) === token;
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    authorizations.push(req.headers.authorization);
    if (!authorized(req.headers.authorization)) {
      res
        .writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' })
        .end('Unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cgi = spawn('/usr/lib/git-core/git-http-backend', [], {
      env: {
        PATH: process.env.PATH,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'tester',
        REMOTE_ADDR: '127.0.0.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        HTTP_GIT_PROTOCOL: (req.headers['git-protocol'] as string | undefined) ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        // A slow link, for tests that need to see a transfer in progress.
        if (options.chunkDelayMs) {
          cgi.stdout.pause();
          setTimeout(() => cgi.stdout.resume(), options.chunkDelayMs);
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('utf8').split('\r\n')) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (/^status$/i.test(name)) status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => {
      if (!headersDone) res.writeHead(500).end();
      else res.end();
    });
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    setToken: (next) => {
      token = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
