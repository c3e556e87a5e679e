import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { ValidationFailedError } from '#src/common/errors.js';
import { CouncilService } from './council.service.js';
import { RunCouncilDto } from './dto/run-council.dto.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

@ApiTags('agent runs')
@ApiBearerAuth('bearer')
@KeyScope('runs')
@Controller('agents/runs')
export class CouncilController {
  constructor(private readonly council: CouncilService) {}

  @Get(':id/council')
  @ApiOperation({
    summary: "The run's latest council verdict with every judge's verdict (dissent visible) and the council history",
  })
  @ApiOkResponse({ type: RunCouncilDto })
  @Authorize('run', 'read')
  getCouncil(
    @Param(
      'id',
      new ParseUUIDPipe({
        exceptionFactory: () => new ValidationFailedError([{ field: 'id', message: 'must be a UUID' }]),
      }),
    )
    id: string,
  ): Promise<RunCouncilDto> {
    return this.council.getForRun(id);
  }
}
