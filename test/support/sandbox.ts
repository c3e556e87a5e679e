import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { SandboxModule } from '../../src/agents/sandbox/sandbox.module.js';
import { SandboxService } from '../../src/agents/sandbox/sandbox.service.js';
import { EnvironmentSetupService } from '../../src/agents/setup/environment-setup.service.js';
import { WorkspaceService } from '../../src/agents/workspace/workspace.service.js';
import { AppConfigModule } from '../../src/config/config.module.js';
import { applyEnv } from './test-app.js';

export interface SandboxHarness {
  sandbox: SandboxService;
  workspaces: WorkspaceService;
  setup: EnvironmentSetupService;
  dataDir: string;
  close(): Promise<void>;
}

/** SandboxModule alone (no database, no HTTP) on a fresh DATA_DIR, with env overrides. */
export async function createSandboxHarness(env: Record<string, string> = {}): Promise<SandboxHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-sandbox-test-'));
  const restore = applyEnv({ QUORUM_SKIP_DOTENV: 'true', NODE_ENV: 'test', DATA_DIR: dataDir, ...env });
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule, SandboxModule],
      providers: [EnvironmentSetupService],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    return {
      sandbox: moduleRef.get(SandboxService),
      workspaces: moduleRef.get(WorkspaceService),
      setup: moduleRef.get(EnvironmentSetupService),
      dataDir,
      close: async () => {
        await moduleRef.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } finally {
    restore();
  }
}
