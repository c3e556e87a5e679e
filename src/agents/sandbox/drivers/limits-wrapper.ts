import type { SandboxLimits } from '../sandbox.types.js';

export const PRLIMIT = '/usr/bin/prlimit';

/**
 * V8 reserves about 560 MB of writable address space before running a line of JavaScript (measured
 * on Node 24: RLIMIT_DATA below ~580 MB aborts at start-up), so a Node process gets this much on top
 * of its memory limit, and its heap is capped at the memory limit itself (--max-old-space-size).
 */
export const NODE_RESERVED_MB = 640;

/**
 * `prlimit` argv prefix applying the limits to the command and everything it starts. Memory is
 * RLIMIT_DATA (private writable memory), not RLIMIT_AS, which V8's address-space reservations make
 * unusable. RLIMIT_NPROC only when asked: it counts per user, so it is only meaningful where the
 * sandbox has a user of its own (bwrap's user namespace).
 */
export function prlimitPrefix(limits: SandboxLimits, options: { node: boolean; nproc: boolean }): string[] {
  const dataMb = limits.memoryMb + (options.node ? NODE_RESERVED_MB : 0);
  // CPU seconds per process: a backstop that stops a busy loop even if nobody is left to enforce
  // the wall-clock limit (the process driver after a worker crash); generous for multi-threaded work.
  const cpuSeconds = limits.timeoutSeconds * 2 + 5;
  const args = [
    PRLIMIT,
    `--data=${dataMb * 1024 * 1024}`,
    `--fsize=${limits.maxFileMb * 1024 * 1024}`,
    `--cpu=${cpuSeconds}`,
    '--core=0',
  ];
  if (options.nproc) args.push(`--nproc=${limits.maxProcesses}`);
  return [...args, '--'];
}
