import { z } from 'zod';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appConfig } from './app.config.js';
import { ConfigError } from './config.error.js';
import { databaseConfig } from './database.config.js';
import { parseEnv, envInt } from './env.js';
import { mailConfig } from './mail.config.js';
import { redisConfig } from './redis.config.js';
import { secretsConfig } from './secrets.config.js';

function withEnv<T>(env: Record<string, string | undefined>, run: () => T): T {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    return run();
  } finally {
    process.env = saved;
  }
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('defaults to the local servers with no configuration at all', () => {
    withEnv({ DATABASE_URL: undefined, REDIS_URL: undefined, PORT: undefined, PUBLIC_URL: undefined }, () => {
      expect(databaseConfig().url).toBe('postgres://postgres@127.0.0.1:5432/quorum');
      expect(redisConfig().url).toBe('redis://127.0.0.1:6379');
      expect(appConfig().port).toBe(3000);
      expect(appConfig().publicUrl).toBe('http://localhost:3000');
      expect(appConfig().workerInProcess).toBe(true);
    });
  });

  it('names the variable when a value is malformed', () => {
    expect(withEnv({ PORT: 'eighty' }, () => configError(() => appConfig())).variable).toBe('PORT');
    expect(withEnv({ PORT: '70000' }, () => configError(() => appConfig())).message).toMatch(
      /^PORT: must be at most 65535/,
    );
    expect(withEnv({ DATABASE_URL: 'mysql://x/y' }, () => configError(() => databaseConfig())).variable).toBe(
      'DATABASE_URL',
    );
    expect(withEnv({ REDIS_URL: 'not a url' }, () => configError(() => redisConfig())).variable).toBe('REDIS_URL');
    expect(withEnv({ WORKER_IN_PROCESS: 'maybe' }, () => configError(() => appConfig())).message).toContain(
      'true or false',
    );
    expect(withEnv({ NODE_ENV: 'staging' }, () => configError(() => appConfig())).variable).toBe('NODE_ENV');
  });

  it('echoes a malformed URL with its password redacted, and never a secret', () => {
    const database = withEnv({ DATABASE_URL: 'postgres://quorum:hunter2@db:notaport/quorum' }, () =>
      configError(() => databaseConfig()),
    );
    expect(database.message).toBe(
      'DATABASE_URL: must be a postgres or postgresql URL (got "postgres://quorum:***@db:notaport/quorum")',
    );
    const redis = withEnv({ REDIS_URL: 'mysql://:hunter2@cache:6379' }, () => configError(() => redisConfig()));
    expect(redis.message).toBe('REDIS_URL: must be a redis or rediss URL (got "mysql://:***@cache:6379")');
    const smtp = withEnv({ SMTP_URL: 'smtp://mailer:hunter2@mail host:25' }, () => configError(() => mailConfig()));
    expect(smtp.message).toBe('SMTP_URL: must be a smtp or smtps URL (got "smtp://mailer:***@mail host:25")');
    const secret = configError(() =>
      parseEnv({ METRICS_TOKEN: z.string().min(32, { message: 'too short' }) }, { METRICS_TOKEN: 'sekrit-token' }),
    );
    expect(secret.message).toBe('METRICS_TOKEN: too short (got (hidden))');
  });

  it('treats an empty variable as unset', () => {
    expect(parseEnv({ N: envInt(7, 0, 10) }, { N: '' }).N).toBe(7);
  });

  it('refuses to start in production without real secrets', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'quorum-config-'));
    const base = { NODE_ENV: 'production', DATA_DIR: dataDir };
    expect(
      withEnv({ ...base, JWT_SECRET: undefined, ENCRYPTION_KEY: undefined }, () => configError(() => secretsConfig()))
        .variable,
    ).toBe('JWT_SECRET');
    expect(
      withEnv({ ...base, JWT_SECRET: 'changeme', ENCRYPTION_KEY: 'a'.repeat(64) }, () =>
        configError(() => secretsConfig()),
      ).message,
    ).toContain('placeholder');
    expect(
      withEnv({ ...base, JWT_SECRET: 'k3Jq9zP0vL2mN8sT4wY6bC1dF5gH7jR0aE2iU4oQ', ENCRYPTION_KEY: 'abcd' }, () =>
        configError(() => secretsConfig()),
      ).variable,
    ).toBe('ENCRYPTION_KEY');
    const ok = withEnv(
      { ...base, JWT_SECRET: 'k3Jq9zP0vL2mN8sT4wY6bC1dF5gH7jR0aE2iU4oQ', ENCRYPTION_KEY: 'ab'.repeat(32) },
      () => secretsConfig(),
    );
    expect(ok.encryptionKey).toHaveLength(32);
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
  });

  it('generates development secrets once and keeps them under DATA_DIR', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'quorum-config-'));
    const env = { NODE_ENV: 'development', DATA_DIR: dataDir, JWT_SECRET: undefined, ENCRYPTION_KEY: undefined };
    const first = withEnv(env, () => secretsConfig());
    const second = withEnv(env, () => secretsConfig());
    expect(first.jwtSecret).toBe(second.jwtSecret);
    expect(first.encryptionKey.equals(second.encryptionKey)).toBe(true);
    const file = join(dataDir, 'secrets.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).jwtSecret).toBe(first.jwtSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
