import { Injectable } from '@nestjs/common';
import { RunsService } from '#src/agents/runs/runs.service.js';
import { CouncilRecordsService } from './council-records.service.js';
import { CouncilNotFoundError } from './council.errors.js';
import type { RunCouncilDto } from './dto/run-council.dto.js';

/** What the API reads about a run's council (who may read it is decided by the route). */
@Injectable()
export class CouncilService {
  constructor(
    private readonly runs: RunsService,
    private readonly records: CouncilRecordsService,
  ) {}

  /** Latest aggregate, its judges and the run's council history; 404 RUN_NOT_FOUND / COUNCIL_NOT_FOUND. */
  async getForRun(runId: string): Promise<RunCouncilDto> {
    await this.runs.get(runId);
    const council = await this.records.runCouncil(runId);
    if (!council) throw new CouncilNotFoundError();
    return council;
  }
}
