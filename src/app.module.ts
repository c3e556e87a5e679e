import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule } from './common/common.module.js';
import { CoreModule } from './core.module.js';
import { HTTP_MODULES } from './modules.js';

export interface AppModuleOptions {
  /** Host the BullMQ consumers in this process too (the one-command start). */
  workerInProcess: boolean;
}

@Module({})
export class AppModule {
  /** The job modules are loaded only when this process hosts them (see job-modules.ts). */
  static async register(options: AppModuleOptions): Promise<DynamicModule> {
    const jobModules = options.workerInProcess ? (await import('./job-modules.js')).JOB_MODULES : [];
    return {
      module: AppModule,
      imports: [CoreModule, ...HTTP_MODULES, ...jobModules, CommonModule],
    };
  }
}
