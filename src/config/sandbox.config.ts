import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { envInt, parseEnv } from './env.js';

export const sandboxConfig = registerAs('sandbox', () => {
  const env = parseEnv({
    SANDBOX_DRIVER: z.enum(['bwrap', 'process'], { message: 'must be bwrap or process' }).optional().default('bwrap'),
    SANDBOX_TIMEOUT_SECONDS: envInt(60, 1, 3600),
    SANDBOX_MEMORY_MB: envInt(512, 32, 65_536),
    SANDBOX_MAX_PROCESSES: envInt(64, 8, 4096),
    SANDBOX_MAX_OUTPUT_BYTES: envInt(1_000_000, 1024, 100_000_000),
    SANDBOX_MAX_FILE_MB: envInt(64, 1, 10_240),
    SANDBOX_DISK_MB: envInt(256, 8, 65_536),
    SANDBOX_PYTHON: z.string().optional().default('/usr/bin/python3'),
    SANDBOX_UID: envInt(65_534, 1, 2_147_483_647),
    SANDBOX_DIR: z.string().optional(),
    WORKSPACE_MAX_FILES: envInt(200, 1, 100_000),
    WORKSPACE_MAX_FILE_BYTES: envInt(1_000_000, 1, 1_000_000_000),
    WORKSPACE_MAX_TOTAL_BYTES: envInt(5_000_000, 1, 10_000_000_000),
    WORKSPACE_KEEP_HOURS: envInt(24, 0, 8760),
    SETUP_TIMEOUT_SECONDS: envInt(600, 5, 7200),
    SETUP_MEMORY_MB: envInt(2048, 64, 65_536),
    SETUP_DISK_MB: envInt(2048, 16, 262_144),
    SETUP_NETWORK: z.enum(['host', 'none'], { message: 'must be host or none' }).optional().default('host'),
    SETUP_CACHE_KEEP: envInt(3, 1, 100),
  });
  return {
    driver: env.SANDBOX_DRIVER,
    timeoutSeconds: env.SANDBOX_TIMEOUT_SECONDS,
    memoryMb: env.SANDBOX_MEMORY_MB,
    maxProcesses: env.SANDBOX_MAX_PROCESSES,
    maxOutputBytes: env.SANDBOX_MAX_OUTPUT_BYTES,
    maxFileMb: env.SANDBOX_MAX_FILE_MB,
    diskMb: env.SANDBOX_DISK_MB,
    python: env.SANDBOX_PYTHON,
    sandboxUid: env.SANDBOX_UID,
    /** Workspaces, setup cache and the sandbox's Node runtime (default: DATA_DIR, if the sandbox user can reach it). */
    dir: env.SANDBOX_DIR,
    workspace: {
      maxFiles: env.WORKSPACE_MAX_FILES,
      maxFileBytes: env.WORKSPACE_MAX_FILE_BYTES,
      maxTotalBytes: env.WORKSPACE_MAX_TOTAL_BYTES,
      keepHours: env.WORKSPACE_KEEP_HOURS,
    },
    setup: {
      timeoutSeconds: env.SETUP_TIMEOUT_SECONDS,
      memoryMb: env.SETUP_MEMORY_MB,
      diskMb: env.SETUP_DISK_MB,
      network: env.SETUP_NETWORK,
      cacheKeep: env.SETUP_CACHE_KEEP,
    },
  };
});
export type SandboxConfig = ReturnType<typeof sandboxConfig>;
