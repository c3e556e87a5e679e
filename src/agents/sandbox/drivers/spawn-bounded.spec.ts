import { spawnBounded } from './spawn-bounded.js';

const base = {
  cwd: '/',
  env: { PATH: '/usr/bin:/bin' },
  timeoutMs: 10_000,
  maxOutputBytes: 1024,
  maxReportBytes: 1024,
};

describe('spawnBounded (real processes)', () => {
  it('keeps stdout and stderr interleaved, stderr apart, and the fd 3 report', async () => {
    const outcome = await spawnBounded(['sh', '-c', 'echo out; echo err >&2; echo report >&3; exit 3'], base);
    expect(outcome).toMatchObject({
      exitCode: 3,
      signal: null,
      stderr: 'err\n',
      report: 'report\n',
      timedOut: false,
      cancelled: false,
      truncated: false,
    });
    expect(outcome.output.split('\n').sort()).toEqual(['', 'err', 'out']);
  });

  it('stops reading and kills the process group at the output limit', async () => {
    const started = Date.now();
    const outcome = await spawnBounded(['sh', '-c', 'yes; sleep 30'], { ...base, maxOutputBytes: 4096 });
    expect(outcome).toMatchObject({ truncated: true, signal: 'SIGKILL' });
    expect(outcome.output.length).toBe(4096);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('kills the whole process group at the wall-clock limit', async () => {
    const outcome = await spawnBounded(['sh', '-c', 'sleep 30 & sleep 30'], { ...base, timeoutMs: 300 });
    expect(outcome).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(outcome.durationMs).toBeLessThan(2000);
  });

  it('kills on abort, including a signal that is already aborted', async () => {
    const controller = new AbortController();
    const running = spawnBounded(['sleep', '30'], { ...base, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(running).resolves.toMatchObject({ cancelled: true, signal: 'SIGKILL' });
    await expect(spawnBounded(['sleep', '30'], { ...base, signal: AbortSignal.abort() })).resolves.toMatchObject({
      cancelled: true,
    });
  });

  it('reports a command that cannot start as an outcome, not an exception', async () => {
    const outcome = await spawnBounded(['/nonexistent/binary'], base);
    expect(outcome).toMatchObject({ exitCode: null });
    expect(outcome.output).toContain('could not start /nonexistent/binary');
  });
});
