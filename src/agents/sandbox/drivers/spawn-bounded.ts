import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ProcessOutcome } from '../sandbox.types.js';

export interface BoundedSpawnOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  maxReportBytes: number;
  uid?: number;
  gid?: number;
  signal?: AbortSignal;
  /**
   * Kill what is left of the process group once the process exited (background children). Under
   * bwrap the pid namespace already went down with it, so only the process driver asks for this.
   */
  sweepGroupOnExit?: boolean;
}

/** How long to wait for the pipes to drain after the process exited before giving up on them. */
export const DRAIN_GRACE_MS = 500;

class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;
  constructor(private readonly max: number) {}

  /** Keeps what fits; returns false once the limit is passed. */
  push(chunk: Buffer): boolean {
    const room = this.max - this.size;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = this.max;
      this.overflowed = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs argv in its own process group with a wall-clock limit, an output limit and an abort signal;
 * any of the three kills the whole group (SIGKILL) at once. stdout+stderr are kept interleaved and
 * bounded; fd 3 is a pipe a runner may write a structured report to.
 */
export function spawnBounded(argv: string[], options: BoundedSpawnOptions): Promise<ProcessOutcome> {
  const started = performance.now();
  return new Promise((resolvePromise) => {
    const output = new BoundedBuffer(options.maxOutputBytes);
    const stderr = new BoundedBuffer(options.maxOutputBytes);
    const report = new BoundedBuffer(options.maxReportBytes);
    let timedOut = false;
    let cancelled = false;
    let truncated = false;
    let settled = false;

    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
      uid: options.uid,
      gid: options.gid,
    });

    const killTree = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };

    const streams = [child.stdout, child.stderr, child.stdio[3] as Readable | null].filter((s): s is Readable => !!s);
    const onOutput = (fromStderr: boolean) => (chunk: Buffer) => {
      if (truncated) return;
      if (fromStderr) stderr.push(chunk);
      if (!output.push(chunk)) {
        truncated = true;
        killTree();
      }
    };
    child.stdout?.on('data', onOutput(false));
    child.stderr?.on('data', onOutput(true));
    (child.stdio[3] as Readable | null)?.on('data', (chunk: Buffer) => report.push(chunk));
    for (const stream of streams) stream.on('error', () => undefined);

    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, options.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      killTree();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (exitCode: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const stream of streams) stream.destroy();
      resolvePromise({
        exitCode,
        signal,
        output: output.toString(),
        stderr: stderr.toString(),
        report: report.toString(),
        timedOut,
        cancelled,
        truncated,
        durationMs: Math.round(performance.now() - started),
      });
    };

    child.once('error', (error) => {
      output.push(Buffer.from(`\n[sandbox] could not start ${argv[0]}: ${error.message}\n`));
      finish(null, null);
    });
    child.once('exit', (code, signal) => {
      if (options.sweepGroupOnExit) killTree();
      const drained = setTimeout(() => finish(code, signal), DRAIN_GRACE_MS);
      child.once('close', () => {
        clearTimeout(drained);
        finish(code, signal);
      });
    });
  });
}
