import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config.error.js';
import { shownValue } from './redact.js';

/**
 * The only place that reads process.env. Each config namespace declares its variables as a zod
 * object; a failure names the variable so start-up can stop with one clear line.
 */
export type Env = Readonly<Record<string, string | undefined>>;

let dotenvLoaded = false;

/** Loads `.env` from the working directory once (real environment variables win). */
export function loadDotEnv(): void {
  if (dotenvLoaded) return;
  dotenvLoaded = true;
  if (process.env.QUORUM_SKIP_DOTENV === 'true') return;
  if (existsSync('.env')) process.loadEnvFile('.env');
}

export function currentEnv(): Env {
  loadDotEnv();
  return process.env;
}

export function parseEnv<T extends z.ZodRawShape>(shape: T, env: Env = currentEnv()): z.infer<z.ZodObject<T>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    // An empty variable (FOO=) means "not set", as in most twelve-factor tooling.
    input[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    // The value is echoed to help, but never a secret or a URL's password (DATABASE_URL, REDIS_URL…).
    throw new ConfigError(variable, `${issue.message} (got ${shownValue(variable, input[variable])})`);
  }
  return result.data;
}

/** Shared field types for environment variables. */
export const envBool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

export const envInt = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` })
    .optional()
    .transform((v) => v ?? fallback);

export const envUrl = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.join(' or ')} URL` },
  );

export const envList = () =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
