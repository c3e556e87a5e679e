import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { ConfigError } from './config.error.js';
import { currentEnv, parseEnv } from './env.js';

const PLACEHOLDERS = /^(change[-_ ]?me|changeme|secret|placeholder|example|test|dev|xxx+|your[-_].*)$/i;

interface GeneratedSecrets {
  jwtSecret: string;
  encryptionKey: string;
}

let generatedFile: string | undefined;

/** The file this process generated development secrets into, if it did (start-up says so once). */
export function generatedSecretsFile(): string | undefined {
  return generatedFile;
}

/** Development keeps generated secrets under DATA_DIR so restarts keep sessions and encrypted data readable. */
function developmentSecrets(dataDir: string): GeneratedSecrets {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as GeneratedSecrets;
  mkdirSync(dataDir, { recursive: true });
  const secrets: GeneratedSecrets = {
    jwtSecret: randomBytes(48).toString('base64url'),
    encryptionKey: randomBytes(32).toString('base64'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  generatedFile = file;
  return secrets;
}

function decodeKey(value: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) {
    throw new ConfigError('ENCRYPTION_KEY', 'must be 32 bytes, as 64 hex characters or base64');
  }
  return key;
}

export const secretsConfig = registerAs('secrets', () => {
  const env = parseEnv({
    NODE_ENV: z.string().optional().default('development'),
    DATA_DIR: z.string().optional().default('./.data'),
    JWT_SECRET: z.string().optional(),
    ENCRYPTION_KEY: z.string().optional(),
  });
  const production = env.NODE_ENV === 'production';
  if (production) {
    for (const name of ['JWT_SECRET', 'ENCRYPTION_KEY'] as const) {
      const value = currentEnv()[name];
      if (!value) throw new ConfigError(name, 'is required in production (NODE_ENV=production)');
      if (PLACEHOLDERS.test(value)) throw new ConfigError(name, 'is a placeholder; set a real random secret');
    }
    if (env.JWT_SECRET!.length < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  }
  const generated = env.JWT_SECRET && env.ENCRYPTION_KEY ? undefined : developmentSecrets(resolve(env.DATA_DIR));
  const jwtSecret = env.JWT_SECRET ?? generated!.jwtSecret;
  if (jwtSecret.length < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  return {
    jwtSecret,
    encryptionKey: decodeKey(env.ENCRYPTION_KEY ?? generated!.encryptionKey),
  };
});
export type SecretsConfig = ReturnType<typeof secretsConfig>;
