import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CouncilRecordsService } from './council-records.service.js';
import { CouncilReview } from './entities/council-review.entity.js';
import { CouncilVerdict } from './entities/council-verdict.entity.js';

/** The council's stored reviews and verdicts: read by the API, written by the worker's reviewer. */
@Module({
  imports: [TypeOrmModule.forFeature([CouncilReview, CouncilVerdict])],
  providers: [CouncilRecordsService],
  exports: [CouncilRecordsService],
})
export class CouncilRecordsModule {}
