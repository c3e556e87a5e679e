import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CouncilReviewer } from '#src/agents/graph/review.port.js';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { CouncilLlm } from './council-llm.port.js';
import { CouncilRecordsService } from './council-records.service.js';
import { CouncilReviewerService } from './council-reviewer.service.js';
import { CouncilReview } from './entities/council-review.entity.js';
import { CouncilVerdict } from './entities/council-verdict.entity.js';
import { GatewayCouncilLlm } from './gateway-council-llm.js';

/**
 * The council of judges. No controllers: the worker imports it for the run graph (`CouncilReviewer`);
 * the API's CouncilApiModule reads its records through `CouncilRecordsService`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([CouncilReview, CouncilVerdict]), LlmModule],
  providers: [
    CouncilRecordsService,
    { provide: CouncilLlm, useClass: GatewayCouncilLlm },
    CouncilReviewerService,
    { provide: CouncilReviewer, useExisting: CouncilReviewerService },
  ],
  exports: [CouncilReviewer, CouncilRecordsService],
})
export class CouncilModule {}
