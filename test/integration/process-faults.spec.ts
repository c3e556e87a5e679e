import { spawn } from 'node:child_process';

/** Runs the fault fixture as its own process: its exit code, its stdout as lines (JSON where they are). */
function runFixture(kind: string): Promise<{ code: number | null; lines: Record<string, unknown>[]; ms: number }> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', './test/support/ts-register.mjs', 'test/support/fixtures/fault-process.ts', kind],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const lines = out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, lines, ms: Date.now() - started });
    });
  });
}

describe('process faults (a real process)', () => {
  it.each([
    ['rejection', 'unhandledRejection', 'the database is down'],
    ['exception', 'uncaughtException', 'thrown from a timer'],
  ])(
    'an unhandled %s is logged as one fatal line with its error, the app is closed, the exit code is 1',
    async (kind, fault, message) => {
      const { code, lines } = await runFixture(kind);
      expect(code).toBe(1);
      const fatal = lines.filter((line) => line.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ fault, msg: `${fault}: the process exits`, err: { message } });
      expect(typeof fatal[0].pid).toBe('number');
      expect(lines.findIndex((line) => line.msg === 'application closed')).toBeGreaterThan(lines.indexOf(fatal[0]));
    },
  );

  it('a close that never ends is cut short after the timeout, still with exit code 1', async () => {
    const { code, lines } = await runFixture('hang');
    expect(code).toBe(1);
    expect(lines.map((line) => line.msg)).toEqual([
      'unhandledRejection: the process exits',
      'closing after unhandledRejection timed out',
    ]);
  });
});
