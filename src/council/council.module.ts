import { Module } from '@nestjs/common';
import { CouncilReviewer } from '#src/agents/graph/review.port.js';
import { LlmModule } from '#src/agents/llm/llm.module.js';
import { CouncilLlm } from './council-llm.port.js';
import { CouncilRecordsModule } from './council-records.module.js';
import { CouncilReviewerService } from './council-reviewer.service.js';
import { GatewayCouncilLlm } from './gateway-council-llm.js';

/**
 * The council of judges. No controllers: the worker imports it for the run graph (`CouncilReviewer`);
 * the API's CouncilApiModule reads the records through CouncilRecordsModule alone, so API processes
 * never load the judges' LangGraph fan-out.
 */
@Module({
  imports: [CouncilRecordsModule, LlmModule],
  providers: [
    { provide: CouncilLlm, useClass: GatewayCouncilLlm },
    CouncilReviewerService,
    { provide: CouncilReviewer, useExisting: CouncilReviewerService },
  ],
  exports: [CouncilReviewer, CouncilRecordsModule],
})
export class CouncilModule {}
