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
      sample();
      // A short pause keeps the sampler from starving the process under test (git lives for tens of ms).
      await new Promise((resolve) => setTimeout(resolve, 3));
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
