import type { SandboxLimits } from '../sandbox.types.js';

export const PRLIMIT = '/usr/bin/prlimit';

/**
 * V8 reserves about 560 MB of writable address space before running a line of JavaScript (measured
 * on Node 24: RLIMIT_DATA below ~580 MB aborts at start-up with "Failed to reserve virtual memory
 * for CodeRange"; no V8 flag shrinks it short of --jitless). Little of it ever becomes resident.
 */
export const NODE_RESERVED_MB = 640;

/**
 * `prlimit` argv prefix applying the limits to the command and everything it starts. Memory is
 * RLIMIT_DATA (private writable memory), not RLIMIT_AS, which V8's address-space reservations make
 * unusable. Every process gets the V8 reservation on top of the memory limit, not only a command
 * whose argv[0] is `node`: `npm test`, `sh -c …` or a test runner start Node themselves, and a limit
 * is inherited, never raised, by what a process executes. Node's heap itself stays within the
 * memory limit through NODE_OPTIONS (see SandboxService). RLIMIT_NPROC only when asked: it counts
 * per user, so it is only meaningful where the sandbox has a user of its own (bwrap's user
 * namespace).
 */
export function prlimitPrefix(limits: SandboxLimits, options: { nproc: boolean }): string[] {
  const dataMb = limits.memoryMb + NODE_RESERVED_MB;
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
