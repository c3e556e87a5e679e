import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule } from './common/common.module.js';
import { CoreModule } from './core.module.js';
import { HTTP_MODULES, JOB_MODULES } from './modules.js';

export interface AppModuleOptions {
  /** Host the BullMQ consumers in this process too (the one-command start). */
  workerInProcess: boolean;
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule, ...HTTP_MODULES, ...(options.workerInProcess ? JOB_MODULES : []), CommonModule],
    };
  }
}
