import { Module } from '@nestjs/common';
import { WorkspaceService } from '../workspace/workspace.service.js';
import { SandboxService } from './sandbox.service.js';

/** Workspaces and sandboxed test runs; no controllers, importable by the worker. */
@Module({
  providers: [WorkspaceService, SandboxService],
  exports: [WorkspaceService, SandboxService],
})
export class SandboxModule {}
