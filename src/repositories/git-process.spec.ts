import { authorizationHeader, gitEnvironment, runGit } from './git-process.js';

describe('git process environment', () => {
  const TOKEN = 'ghp_unit_secret_123';

  const config = (env: NodeJS.ProcessEnv) => {
    const out: Record<string, string> = {};
    for (let i = 0; i < Number(env.GIT_CONFIG_COUNT); i++)
      out[env[`GIT_CONFIG_KEY_${i}`]!] = env[`GIT_CONFIG_VALUE_${i}`]!;
    return out;
  };

  it('carries the token only as an Authorization header in GIT_CONFIG_*, with prompts, hooks and other config off', () => {
    const env = gitEnvironment({ token: TOKEN });
    expect(config(env)['http.extraHeader']).toBe(authorizationHeader(TOKEN));
    expect(authorizationHeader(TOKEN)).toBe(
      `Authorization: Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`,
    );
    expect(env).toMatchObject({ GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' });
    expect(config(env)).toMatchObject({
      'core.hooksPath': '/dev/null',
      'core.fsmonitor': 'false',
      'protocol.allow': 'never',
      'protocol.https.allow': 'always',
      'protocol.file.allow': 'never',
      'protocol.http.allow': 'never',
      'http.followRedirects': 'false',
    });
    expect(config(gitEnvironment({ allowFile: true, allowHttp: true }))).toMatchObject({
      'protocol.file.allow': 'always',
      'protocol.http.allow': 'always',
    });
    expect(config(gitEnvironment({}))['http.extraHeader']).toBeUndefined();
  });

  it('does not pass the parent environment on (no stray GIT_* or secrets)', () => {
    // The environment is built from an allowlist, never copied from the parent: nothing else can leak.
    const env = gitEnvironment({});
    expect(
      Object.keys(env).filter(
        (k) => !k.startsWith('GIT_') && !['PATH', 'HOME', 'LANG', 'LC_ALL', 'SSH_ASKPASS'].includes(k),
      ),
    ).toEqual([]);
    expect(env.PATH).toBe('/usr/local/bin:/usr/bin:/bin');
    expect(env.HOME).toBe('/nonexistent');
  });

  it('starts nothing when it was cancelled before it began (an abort listener would never fire)', async () => {
    const seen: string[][] = [];
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled'));
    const skipped = await runGit(['hash-object', '--stdin'], {
      timeoutMs: 10_000,
      stdin: 'x',
      signal: cancelled.signal,
      onSpawn: (_pid, argv) => seen.push(argv),
    });
    expect(skipped).toEqual({ code: null, stdout: '', stderr: '', timedOut: false, truncated: false });
    expect(seen).toEqual([]);
  });

  it('reports the argv it spawned, which never holds the token, and feeds stdin', async () => {
    const seen: string[][] = [];
    const result = await runGit(['config', '--get', 'http.extraHeader'], {
      token: TOKEN,
      timeoutMs: 10_000,
      onSpawn: (_pid, argv) => seen.push(argv),
    });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(authorizationHeader(TOKEN));
    expect(seen).toEqual([['git', 'config', '--get', 'http.extraHeader']]);
    const hashed = await runGit(['hash-object', '--stdin'], { timeoutMs: 10_000, stdin: 'x' });
    expect(hashed.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
  });
});
