import fs from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Records everything the process writes to stdout and stderr (pino writes to fd 1 through
 * sonic-boom with fs.write/fs.writeSync; Nest's console logger through process.stdout), so a test
 * can assert that a secret never reached a log line. Output is swallowed unless `passThrough`.
 */
export function captureOutput(options: { passThrough?: boolean } = {}): { text(): string; restore(): void } {
  const pass = options.passThrough ?? false;
  const size = (data: unknown) =>
    typeof data === 'string' ? Buffer.byteLength(data) : data instanceof Uint8Array ? data.length : 0;
  const chunks: string[] = [];
  const record = (data: unknown) => {
    if (typeof data === 'string') chunks.push(data);
    else if (data instanceof Uint8Array) chunks.push(Buffer.from(data).toString('utf8'));
  };
  // The CommonJS view of fs is the object sonic-boom calls into.
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const targets = [...new Set([fs, cjsFs])];
  const originals = targets.map((target) => ({ target, write: target.write, writeSync: target.writeSync }));
  for (const { target, write, writeSync } of originals) {
    target.writeSync = (fd: number, data: unknown, ...rest: unknown[]) => {
      if (fd !== 1 && fd !== 2) return (writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
      record(data);
      return pass ? (writeSync as (...args: unknown[]) => number)(fd, data, ...rest) : size(data);
    };
    target.write = ((fd: number, data: unknown, ...rest: unknown[]) => {
      if (fd !== 1 && fd !== 2) return (write as (...args: unknown[]) => void)(fd, data, ...rest);
      record(data);
      if (pass) return (write as (...args: unknown[]) => void)(fd, data, ...rest);
      const callback = rest.findLast((arg) => typeof arg === 'function') as ((e: null, n: number) => void) | undefined;
      if (callback) process.nextTick(callback, null, size(data));
    }) as typeof fs.write;
  }
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = (data: unknown, ...rest: unknown[]) => {
    record(data);
    if (pass) return (stdoutWrite as (...args: unknown[]) => boolean)(data, ...rest);
    const callback = rest.findLast((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return true;
  };
  process.stderr.write = (data: unknown, ...rest: unknown[]) => {
    record(data);
    if (pass) return (stderrWrite as (...args: unknown[]) => boolean)(data, ...rest);
    const callback = rest.findLast((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return true;
  };
  return {
    text: () => chunks.join(''),
    restore: () => {
      for (const { target, write, writeSync } of originals) {
        target.write = write;
        target.writeSync = writeSync;
      }
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    },
  };
}
