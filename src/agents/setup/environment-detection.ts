import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files whose content decides what setup installs: manifests and lock files at the
 * repository's root. The setup cache key is their hash (plus the command and the runtimes).
 */
export const DEPENDENCY_FILES = [
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  '.npmrc',
  'requirements.txt',
  'requirements-dev.txt',
  'constraints.txt',
  'pyproject.toml',
  'poetry.lock',
  'Pipfile',
  'Pipfile.lock',
  'setup.py',
  'setup.cfg',
] as const;

/** What setup may leave behind to be cached and shown to later commands (read-only). */
export const SETUP_PRODUCTS = ['node_modules', '.venv'] as const;

const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** What npm init writes when there is no test script: not a test command. */
const NPM_INIT_TEST = /no test specified/;

export interface DependencyFile {
  name: string;
  content: Buffer;
}

export interface DetectedEnvironment {
  /** The detected setup command, or null when the repository declares no dependencies we know. */
  setupCommand: string | null;
  /** `npm test` when package.json has a real `scripts.test`, else null (the language default). */
  testCommand: string | null;
  files: DependencyFile[];
}

/** Reads the root's dependency files (regular files only, never through a link) and detects the commands. */
export async function detectEnvironment(dir: string, python: string): Promise<DetectedEnvironment> {
  const files: DependencyFile[] = [];
  for (const name of DEPENDENCY_FILES) {
    const content = await readRegularFile(join(dir, name));
    if (content) files.push({ name, content });
  }
  return { ...detectCommands(files, python), files };
}

/** The detection rules of API.md "Repository work", on the files' contents. */
export function detectCommands(
  files: DependencyFile[],
  python: string,
): { setupCommand: string | null; testCommand: string | null } {
  const has = (name: string) => files.some((f) => f.name === name);
  const setup: string[] = [];
  if (has('package-lock.json') || has('npm-shrinkwrap.json')) setup.push('npm ci --no-audit --no-fund');
  else if (has('package.json')) setup.push('npm install --no-audit --no-fund');
  if (has('requirements.txt')) {
    setup.push(
      `${python} -m venv .venv && .venv/bin/pip install --disable-pip-version-check --no-input -r requirements.txt`,
    );
  }
  return { setupCommand: setup.length > 0 ? setup.join(' && ') : null, testCommand: npmTestCommand(files) };
}

function npmTestCommand(files: DependencyFile[]): string | null {
  const manifest = files.find((f) => f.name === 'package.json');
  if (!manifest) return null;
  try {
    const parsed = JSON.parse(manifest.content.toString('utf8')) as { scripts?: Record<string, unknown> };
    const test = parsed?.scripts?.test;
    return typeof test === 'string' && test.trim() && !NPM_INIT_TEST.test(test) ? 'npm test' : null;
  } catch {
    return null;
  }
}

/**
 * The cache key of a setup: the command, the runtimes it ran with and every dependency file's
 * name and content. Anything else in the repository (its sources) does not change it.
 */
export function setupCacheKey(command: string, runtimes: string[], files: DependencyFile[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ version: 1, command, runtimes }));
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    hash.update(`\0${file.name}\0${file.content.length}\0`);
    hash.update(file.content);
  }
  return hash.digest('hex').slice(0, 40);
}

async function readRegularFile(path: string): Promise<Buffer | null> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!handle) return null;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_MANIFEST_BYTES) return null;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
