import { Module } from '@nestjs/common';
import { RepositoriesController } from './repositories.controller.js';
import { RepositoriesCoreModule } from './repositories-core.module.js';

/** The `/repositories` routes. */
@Module({
  imports: [RepositoriesCoreModule],
  controllers: [RepositoriesController],
})
export class RepositoriesModule {}
