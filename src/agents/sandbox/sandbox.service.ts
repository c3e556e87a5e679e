import { inSpan } from '#src/telemetry/spans.js';
import { chmod, lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { WorkspaceUnsafePathError } from '../workspace/workspace.errors.js';
import { WorkspaceService } from '../workspace/workspace.service.js';
import {
  BwrapDriver,
  findBwrap,
  WORKSPACE_COPY_FAILED,
  WORKSPACE_COPY_FAILED_MESSAGE,
} from './drivers/bwrap.driver.js';
import { ProcessDriver } from './drivers/process.driver.js';
import { parseNodeTestReport } from './parsers/node-test-report.parser.js';
import { parseRunnerOutput, type RunnerReport } from './parsers/runner-output.parser.js';
import { parseUnittestOutput } from './parsers/unittest-output.parser.js';
import { NODE_RESOLVE_HOOKS_SOURCE } from './runners/node-resolve-hooks.js';
import { NODE_TEST_REPORTER_SOURCE } from './runners/node-test-reporter.js';
import { UNITTEST_DISCOVER_SOURCE } from './runners/unittest-discover.js';
import { sandboxDirFor, sandboxNodeBinary, sandboxUidOf, unreachableDir } from './sandbox-paths.js';
import { SandboxUnavailableError } from './sandbox.errors.js';
import type {
  CommandResult,
  ProcessOutcome,
  RunCommandRequest,
  RunTestsRequest,
  SandboxMount,
  SandboxDriver,
  SandboxLanguage,
  SandboxLimits,
  TestRunResult,
} from './sandbox.types.js';
import type { ParsedTests } from './parsers/parsed-tests.js';

const LANG = 'C.UTF-8';

/**
 * Runs a workspace's tests with the configured driver (bwrap by default) and turns the runner's
 * real output into counts and failures. Never throws for anything the tested code does: crashes,
 * limits, timeouts and cancellation all come back as a result.
 */
@Injectable()
export class SandboxService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SandboxService.name);
  private readonly defaults: SandboxLimits;
  readonly driver: SandboxDriver;
  private runnerDir?: string;

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly workspaces: WorkspaceService,
  ) {
    const cfg = config.get('sandbox', { infer: true });
    this.defaults = {
      timeoutSeconds: cfg.timeoutSeconds,
      memoryMb: cfg.memoryMb,
      maxProcesses: cfg.maxProcesses,
      maxOutputBytes: cfg.maxOutputBytes,
      maxFileMb: cfg.maxFileMb,
      diskMb: cfg.diskMb,
    };
    if (cfg.driver === 'process') {
      this.driver = new ProcessDriver(process.execPath, cfg.python);
      this.logger.warn(
        'SANDBOX_DRIVER=process: generated code runs WITHOUT ISOLATION (same user, file system and network as this process); use only on a trusted development machine',
      );
    } else {
      let bwrap: string;
      try {
        bwrap = findBwrap();
      } catch (error) {
        throw new SandboxUnavailableError((error as Error).message);
      }
      const hostUid = sandboxUidOf(config);
      let nodeBinary: string;
      try {
        const place = sandboxDirFor(config);
        if (place.relocatedBecause)
          this.logger.warn(
            `${place.relocatedBecause}; workspaces, the setup cache and the sandbox's Node runtime are kept in ${place.dir} instead (set SANDBOX_DIR to choose)`,
          );
        nodeBinary = sandboxNodeBinary(process.execPath, place.dir, hostUid);
      } catch (error) {
        throw new SandboxUnavailableError((error as Error).message);
      }
      this.driver = new BwrapDriver({ bwrap, nodeBinary, python: cfg.python, hostUid });
    }
  }

  async onModuleInit(): Promise<void> {
    this.runnerDir = await mkdtemp(join(tmpdir(), 'quorum-sandbox-'));
    await writeFile(join(this.runnerDir, 'reporter.mjs'), NODE_TEST_REPORTER_SOURCE, { mode: 0o644 });
    await writeFile(join(this.runnerDir, 'resolve-hooks.mjs'), NODE_RESOLVE_HOOKS_SOURCE, { mode: 0o644 });
    await writeFile(join(this.runnerDir, 'unittest-discover.py'), UNITTEST_DISCOVER_SOURCE, { mode: 0o644 });
    await chmod(this.runnerDir, 0o755);
    await this.selfTest();
  }

  /**
   * One real sandboxed run at start-up (≈0.1 s), so a machine where the sandbox cannot work (user
   * namespaces disabled, binaries or DATA_DIR unreachable for the sandbox user) fails at boot with
   * one clear line instead of failing every run later.
   */
  private async selfTest(): Promise<void> {
    const dir = await this.workspaces.create(`probe-${process.pid}-${Date.now()}`);
    try {
      await this.workspaces.writeFiles(dir, [{ path: 'probe-in.txt', content: 'in' }]);
      const script =
        "const fs = require('node:fs'); fs.writeFileSync('probe.txt', fs.readFileSync('probe-in.txt', 'utf8') + '+ok'); process.stdout.write(fs.readFileSync('probe.txt', 'utf8'))";
      const outcome = await this.driver.run({
        workspaceDir: dir,
        argv: [this.driver.nodePath, '-e', script],
        env: this.environment(),
        limits: { ...this.defaults, timeoutSeconds: 20 },
        readOnlyPaths: [],
      });
      if (outcome.exitCode !== 0 || outcome.output !== 'in+ok') {
        const detail = outcome.output.trim().split('\n')[0] || `exit ${outcome.exitCode ?? outcome.signal}`;
        throw new SandboxUnavailableError(
          `The ${this.driver.name} sandbox does not work on this machine (${detail}); ${this.selfTestAdvice(dir)}`,
        );
      }
      // Python is needed only by python tasks: a missing one is a warning, not a failed start.
      const python = await this.driver.run({
        workspaceDir: dir,
        argv: [this.driver.pythonPath, '-c', 'print("ok")'],
        env: this.environment(),
        limits: { ...this.defaults, timeoutSeconds: 20 },
        readOnlyPaths: [],
      });
      if (python.exitCode !== 0 || python.output.trim() !== 'ok') {
        this.logger.warn(
          `SANDBOX_PYTHON=${this.driver.pythonPath} does not run in the sandbox; python tasks will fail (${this.pythonAdvice(python.output)})`,
        );
      }
    } finally {
      await this.workspaces.remove(dir);
    }
  }

  /**
   * Why the sandbox's Python does not run. A Python installation is a tree (its standard library
   * beside the binary), so one under a 0700 home (pyenv in root's home) is not moved like the Node
   * binary: the warning names the directory in the way and a Python the sandbox user can reach.
   */
  private pythonAdvice(output: string): string {
    const driver = this.driver;
    if (driver instanceof BwrapDriver && driver.hostUid !== undefined) {
      const blocked = unreachableDir(dirname(driver.pythonPath), driver.hostUid);
      if (blocked)
        return `the sandbox user (uid ${driver.hostUid}) cannot search ${blocked}, on the way to it: set SANDBOX_PYTHON to a Python it can reach, e.g. /usr/bin/python3`;
    }
    return output.trim().split('\n')[0] || 'no output';
  }

  /** What to do about a failed self-test: the path the sandbox user cannot reach, if that is it. */
  private selfTestAdvice(workspaceDir: string): string {
    const driver = this.driver;
    if (driver instanceof BwrapDriver && driver.hostUid !== undefined) {
      const uid = driver.hostUid;
      for (const path of [workspaceDir, dirname(driver.nodeBinary)]) {
        const blocked = unreachableDir(path, uid);
        if (blocked)
          return `the sandbox user (uid ${uid}) cannot search ${blocked}, on the way to ${path}: set SANDBOX_DIR to a directory it can reach (e.g. /var/lib/quorum-sandbox)`;
      }
    }
    return 'check that unprivileged user namespaces are enabled (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0), or set SANDBOX_DRIVER=process (isolates nothing)';
  }

  // At application shutdown, after the run processor's destroy hook has handed its runs over.
  async onApplicationShutdown(): Promise<void> {
    if (this.runnerDir) await rm(this.runnerDir, { recursive: true, force: true });
  }

  get limits(): SandboxLimits {
    return { ...this.defaults };
  }

  async runTests(request: RunTestsRequest): Promise<TestRunResult> {
    return inSpan('sandbox tests', { 'quorum.sandbox.driver': this.driver.constructor.name }, () =>
      this.runTestsUntraced(request),
    );
  }

  private async runTestsUntraced(request: RunTestsRequest): Promise<TestRunResult> {
    const limits = this.limitsWith(request.limits);
    const workspaceDir = await this.checkedWorkspace(request.workspaceDir);
    if (request.shellCommand) {
      const outcome = await this.driver.run({
        workspaceDir,
        argv: ['/bin/sh', '-c', testCommandScript(request.shellCommand)],
        env: this.environment(limits, request.mounts),
        limits,
        readOnlyPaths: [],
        mounts: request.mounts,
        signal: request.signal,
      });
      return interpretTestCommand(outcome, parseRunnerOutput(outcome.output, outcome.report), limits);
    }
    const { argv, parse } = this.commandFor(request.language, request.command, limits);
    const outcome = await this.driver.run({
      workspaceDir,
      argv,
      env: this.environment(limits, request.mounts),
      limits,
      readOnlyPaths: this.runnerDir ? [this.runnerDir] : [],
      mounts: request.mounts,
      signal: request.signal,
    });
    return this.interpret(outcome, parse(outcome), limits);
  }

  /**
   * One shell command line in the sandbox, the workspace as its directory (no network, no secrets,
   * the limits, `mounts` read-only in the workspace). What it writes stays in the sandbox. Never
   * throws for anything the command does: exit code, output (its head, bounded), timeout and
   * cancellation come back as the result.
   */
  async runCommand(request: RunCommandRequest): Promise<CommandResult> {
    return inSpan('sandbox command', { 'quorum.sandbox.driver': this.driver.constructor.name }, async (span) => {
      const result = await this.runCommandUntraced(request);
      span.setAttribute('process.exit.code', result.exitCode ?? -1);
      return result;
    });
  }

  private async runCommandUntraced(request: RunCommandRequest): Promise<CommandResult> {
    const limits = this.limitsWith(request.limits);
    const workspaceDir = await this.checkedWorkspace(request.workspaceDir);
    const outcome = await this.driver.run({
      workspaceDir,
      argv: ['/bin/sh', '-c', request.command],
      env: this.environment(limits, request.mounts),
      limits,
      readOnlyPaths: [],
      mounts: request.mounts,
      signal: request.signal,
    });
    return commandResult(outcome);
  }

  /**
   * Environment setup: a command with the host's network when `network` (package registries),
   * still without secrets and within `limits`; `outputDir` is the one host directory it may write
   * to (`$QUORUM_OUTPUT_DIR` inside).
   */
  async runSetupCommand(
    request: RunCommandRequest & { outputDir: string; limits: SandboxLimits; network: boolean },
  ): Promise<CommandResult> {
    const workspaceDir = await this.checkedWorkspace(request.workspaceDir);
    const outcome = await this.driver.run({
      workspaceDir,
      argv: ['/bin/sh', '-c', request.command],
      env: this.environment(request.limits, request.mounts),
      limits: request.limits,
      readOnlyPaths: [],
      mounts: request.mounts,
      network: request.network,
      outputDir: request.outputDir,
      signal: request.signal,
    });
    return commandResult(outcome);
  }

  private limitsWith(overrides: Partial<SandboxLimits> | undefined): SandboxLimits {
    const set = Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined);
    return { ...this.defaults, ...Object.fromEntries(set) };
  }

  /** Only a workspace is ever handed to a sandbox, never an arbitrary directory. */
  private async checkedWorkspace(dir: string): Promise<string> {
    const workspaceDir = this.workspaces.assertWorkspaceDir(dir);
    const info = await lstat(workspaceDir).catch(() => undefined);
    if (!info?.isDirectory()) throw new WorkspaceUnsafePathError(dir);
    return workspaceDir;
  }

  private commandFor(
    language: SandboxLanguage,
    custom: string[] | undefined,
    limits: SandboxLimits,
  ): { argv: string[]; parse: (o: ProcessOutcome) => ParsedTests } {
    const node = this.driver.nodePath;
    const support = this.runnerDir;
    if (language === 'python') {
      const discover = support
        ? [join(support, 'unittest-discover.py')]
        : ['-m', 'unittest', 'discover', '-s', '.', '-t', '.', '-p', '*test*.py', '-v'];
      const argv = custom ?? [this.driver.pythonPath, '-B', ...discover];
      return { argv, parse: (o) => parseUnittestOutput(o.stderr) };
    }
    // TypeScript is type-stripped by Node 24 itself (no compiler in the sandbox, no compile step);
    // transform-types adds the non-erasable syntax generated code uses (enums, namespaces,
    // parameter properties). Type errors are not reported: the tests' behaviour is what counts.
    const nodeArgs = [
      `--max-old-space-size=${limits.memoryMb}`,
      '--disable-warning=ExperimentalWarning',
      ...(language === 'typescript' ? ['--experimental-transform-types'] : []),
      ...(support ? [`--import=${join(support, 'resolve-hooks.mjs')}`] : []),
      '--test',
      `--test-concurrency=${testConcurrency(limits.maxProcesses)}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      ...(support ? [`--test-reporter=${join(support, 'reporter.mjs')}`, '--test-reporter-destination=stderr'] : []),
    ];
    const argv = custom ?? [node, ...nodeArgs];
    return { argv, parse: (o) => parseNodeTestReport(o.report) };
  }

  /**
   * The whole environment of a sandboxed command (nothing of this process's own). NODE_OPTIONS caps
   * the heap of every Node process the command starts (`npm test` → a runner → its workers) at the
   * memory limit; npm is told not to reach for the network on its own (update check, audit, funding).
   */
  private environment(limits: SandboxLimits = this.defaults, mounts: SandboxMount[] = []): Record<string, string> {
    const home = this.driver.workspaceMount || '/tmp';
    const workspace = this.driver.workspaceMount;
    const mounted = new Set(mounts.map((m) => m.target));
    // Installed tools first, as `npm test` and an activated virtualenv would have them.
    const venv = workspace && mounted.has('.venv') ? `${workspace}/.venv` : '';
    const path = [
      venv ? `${venv}/bin` : '',
      workspace && mounted.has('node_modules') ? `${workspace}/node_modules/.bin` : '',
      this.driver.name === 'bwrap' ? '/opt/node/bin' : '',
      '/usr/local/bin',
      '/usr/bin',
      '/bin',
    ]
      .filter(Boolean)
      .join(':');
    return {
      ...(venv ? { VIRTUAL_ENV: venv } : {}),
      PATH: path,
      HOME: home,
      LANG,
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      NO_COLOR: '1',
      CI: '1',
      NODE_OPTIONS: `--max-old-space-size=${limits.memoryMb}`,
      // Caches go to the sandbox's own /tmp, never into the workspace.
      ...(this.driver.name === 'bwrap' ? { npm_config_cache: '/tmp/.npm', XDG_CACHE_HOME: '/tmp/.cache' } : {}),
      npm_config_update_notifier: 'false',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_loglevel: 'warn',
    };
  }

  private interpret(outcome: ProcessOutcome, parsed: ParsedTests, limits: SandboxLimits): TestRunResult {
    const base = {
      countsKnown: true,
      passed: parsed.passed,
      failed: parsed.failed,
      skipped: parsed.skipped,
      total: parsed.passed + parsed.failed + parsed.skipped,
      failures: parsed.failures,
      output: outcome.output,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      truncated: outcome.truncated,
      durationMs: outcome.durationMs,
    };
    const stopped = stoppedRun(outcome, base, limits);
    if (stopped) return stopped;
    if (base.failed > 0) return { ...base, status: 'failed' };
    if (base.total === 0) {
      if (outcome.exitCode === 0 || outcome.exitCode === 5) {
        return { ...base, status: 'failed', error: 'No tests were found.' };
      }
      return {
        ...base,
        status: 'error',
        error: `The test runner exited with ${describeExit(outcome)} without reporting any test.`,
      };
    }
    if (outcome.exitCode !== 0) {
      return {
        ...base,
        status: 'error',
        error: `The test runner exited with ${describeExit(outcome)} although no test failed.`,
      };
    }
    return { ...base, status: 'passed' };
  }
}

/**
 * A repository's test command, then any JUnit XML report it wrote during the run (a runner
 * configured for one: pytest --junitxml, jest-junit, mocha-junit-reporter) passed to the report
 * pipe, since what the command writes stays in the sandbox. The command's exit status is kept.
 */
export function testCommandScript(command: string): string {
  return [
    'marker="${TMPDIR:-/tmp}/.quorum-tests-started"; : > "$marker"',
    `( ${command}`,
    ')',
    'status=$?',
    `find . -maxdepth 4 -name '*.xml' -newer "$marker" -size -4096k ! -path '*/node_modules/*' ! -path './.venv/*' 2>/dev/null | while read -r f; do grep -qs '<testsuite' "$f" && cat "$f" 2>/dev/null >&3; done`,
    'exit $status',
  ].join('\n');
}

/** What ended a run before its tests could decide: cancel, timeout, a full disk, an output flood. */
function stoppedRun(
  outcome: ProcessOutcome,
  base: Omit<TestRunResult, 'status' | 'error'>,
  limits: SandboxLimits,
): TestRunResult | null {
  if (outcome.cancelled) return { ...base, status: 'cancelled', error: 'The test run was cancelled.' };
  if (outcome.timedOut) {
    return {
      ...base,
      status: 'timeout',
      error: `The tests did not finish within ${limits.timeoutSeconds} s and were killed.`,
    };
  }
  if (outcome.exitCode === WORKSPACE_COPY_FAILED && outcome.output.includes(WORKSPACE_COPY_FAILED_MESSAGE)) {
    return { ...base, status: 'error', error: `The workspace does not fit in the sandbox's ${limits.diskMb} MB disk.` };
  }
  if (outcome.truncated) {
    return {
      ...base,
      status: 'error',
      error: `The tests printed more than ${limits.maxOutputBytes} bytes and were killed.`,
    };
  }
  return null;
}

/**
 * A test command's verdict is its exit code; the counts and failures are the runner's own, read
 * from its output (unknown when no known runner printed it).
 */
function interpretTestCommand(
  outcome: ProcessOutcome,
  parsed: RunnerReport | null,
  limits: SandboxLimits,
): TestRunResult {
  const base = {
    countsKnown: parsed !== null,
    passed: parsed?.passed ?? 0,
    failed: parsed?.failed ?? 0,
    skipped: parsed?.skipped ?? 0,
    total: parsed ? parsed.passed + parsed.failed + parsed.skipped : 0,
    failures: parsed?.failures ?? [],
    output: outcome.output,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    timedOut: outcome.timedOut,
    truncated: outcome.truncated,
    durationMs: outcome.durationMs,
  };
  const stopped = stoppedRun(outcome, base, limits);
  if (stopped) return stopped;
  if (outcome.exitCode === 0) return { ...base, status: 'passed' };
  return { ...base, status: 'failed', error: `The test command exited with ${describeExit(outcome)}.` };
}

/**
 * Test files run in parallel child processes of about a dozen threads each (main, V8 workers,
 * libuv pool), and RLIMIT_NPROC counts threads: Node's default (CPUs - 1) would hit the process
 * limit on a big machine, so parallelism follows the limit instead, leaving room for the runner.
 */
export function testConcurrency(maxProcesses: number): number {
  return Math.max(1, Math.min(4, Math.floor((maxProcesses - 12) / 12)));
}

function commandResult(outcome: ProcessOutcome): CommandResult {
  return {
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    output: outcome.output,
    timedOut: outcome.timedOut,
    cancelled: outcome.cancelled,
    truncated: outcome.truncated,
    durationMs: outcome.durationMs,
  };
}

function describeExit(outcome: ProcessOutcome): string {
  return outcome.signal ? `signal ${outcome.signal}` : `code ${outcome.exitCode}`;
}
