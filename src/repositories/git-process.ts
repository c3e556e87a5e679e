import { spawn } from 'node:child_process';

export interface GitRunOptions {
  cwd?: string;
  /** Access token: sent as an `http.extraHeader` through the environment, never in argv or the URL. */
  token?: string;
  timeoutMs: number;
  /** Allow the `file` transport (local paths and file:// URLs). */
  allowFile?: boolean;
  /** Allow plain `http` remotes (tests, internal mirrors). */
  allowHttp?: boolean;
  /** Extra configuration (command-line level), e.g. the pinned address of the remote. */
  config?: Array<[string, string]>;
  /** Extra environment (author identity and the like); never secrets. */
  env?: Record<string, string>;
  /** Stop reading stdout past this many bytes (the command is killed). */
  maxOutputBytes?: number;
  stdin?: string;
  /** Ends the process (and its transport helpers) when aborted. */
  signal?: AbortSignal;
  /** Observes each spawned process (tests check its argv). */
  onSpawn?: (pid: number, argv: string[]) => void;
}

export interface GitRunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
}

const STDERR_LIMIT = 64 * 1024;

/** `Authorization: Basic base64(x-access-token:<token>)`, what GitHub (and most hosts) accept for HTTPS git. */
export function authorizationHeader(token: string): string {
  return `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
}

/**
 * The whole configuration a git process sees. No system or global config, no terminal prompts,
 * hooks off, and every setting that could run a program or redirect traffic pinned at the
 * command-line level (GIT_CONFIG_COUNT), which outranks anything a repository's own config says.
 */
export function gitEnvironment(
  options: Pick<GitRunOptions, 'token' | 'allowFile' | 'allowHttp' | 'env' | 'config'>,
): NodeJS.ProcessEnv {
  const config: Array<[string, string]> = [
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['core.pager', 'cat'],
    ['core.askPass', ''],
    ['credential.helper', ''],
    ['commit.gpgSign', 'false'],
    ['tag.gpgSign', 'false'],
    ['init.defaultBranch', 'main'],
    ['advice.detachedHead', 'false'],
    ['http.followRedirects', 'false'],
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ['protocol.http.allow', options.allowHttp ? 'always' : 'never'],
    ['protocol.file.allow', options.allowFile ? 'always' : 'never'],
  ];
  config.push(...(options.config ?? []));
  if (options.token) config.push(['http.extraHeader', authorizationHeader(options.token)]);
  const env: NodeJS.ProcessEnv = {
    // A fixed system PATH: git and its remote helpers, never whatever the parent's PATH points at.
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_CONFIG_COUNT: String(config.length),
    ...options.env,
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * Runs `git` with an argument array (never a shell), bounded in time and output. The process gets
 * its own process group so a timeout also ends the transport helpers git started.
 */
export function runGit(args: string[], options: GitRunOptions): Promise<GitRunResult> {
  // Cancelled before it began (a cancel during the clone's preparation): an abort listener added
  // now would never fire, and the command would run to its end.
  if (options.signal?.aborted)
    return Promise.resolve({ code: null, stdout: '', stderr: '', timedOut: false, truncated: false });
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: gitEnvironment(options),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid, ['git', ...args]);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let timedOut = false;
    let truncated = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => kill();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.maxOutputBytes !== undefined && stdoutBytes + chunk.length > options.maxOutputBytes) {
        truncated = true;
        stdout.push(chunk.subarray(0, options.maxOutputBytes - stdoutBytes));
        stdoutBytes = options.maxOutputBytes;
        kill();
        return;
      }
      stdoutBytes += chunk.length;
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes < STDERR_LIMIT) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8').slice(0, STDERR_LIMIT),
        timedOut,
        truncated,
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
