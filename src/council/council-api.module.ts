import { Module } from '@nestjs/common';
import { RunsCoreModule } from '#src/agents/runs/runs-core.module.js';
import { CouncilController } from './council.controller.js';
import { CouncilRecordsModule } from './council-records.module.js';
import { CouncilService } from './council.service.js';

/** The HTTP side of the council: GET /agents/runs/:id/council (ownership through RunsService). */
@Module({
  imports: [CouncilRecordsModule, RunsCoreModule],
  controllers: [CouncilController],
  providers: [CouncilService],
})
export class CouncilApiModule {}
