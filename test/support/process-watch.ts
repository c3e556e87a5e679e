import { readdirSync, readFileSync } from 'node:fs';

/**
 * Samples the command line of every process on the machine (what `ps` shows anyone) while `work`
 * runs, and returns the command lines that contained `needle`.
 */
export async function commandLinesContaining<T>(
  needle: string,
  work: () => Promise<T>,
): Promise<{ result: T; hits: string[]; samples: number }> {
  const hits: string[] = [];
  let samples = 0;
  let running = true;
  const sample = () => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        if (cmdline.includes('git')) samples += 1;
        if (cmdline.includes(needle)) hits.push(cmdline);
      } catch {
        // the process ended between listing and reading
      }
    }
  };
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      sample();
      // The sampler shares the event loop with the app under test: it pauses four times as long as a
      // sample took (at least 3 ms; git lives for tens of ms), so on a busy machine with many processes
      // it never takes more than a fifth of the loop and cannot starve the run it watches.
      await new Promise((resolve) => setTimeout(resolve, Math.max(3, 4 * (performance.now() - started))));
    }
  })();
  try {
    const result = await work();
    return { result, hits, samples };
  } finally {
    running = false;
    await loop;
  }
}
