import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './processes.js';

export interface PrivateRedis {
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A throw-away redis-server of the test's own on 127.0.0.1 (extra arguments, e.g. `--requirepass`). */
export async function startPrivateRedis(args: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const password = args.includes('--requirepass') ? args[args.indexOf('--requirepass') + 1] : undefined;
  await waitFor(
    async () => {
      const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    10_000,
    `redis-server on ${port}`,
  );
  return {
    port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
