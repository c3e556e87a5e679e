import { ApiProblem } from '#src/common/openapi-conventions.js';
import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { RunEnvelopeDto, RunEventListDto, RunPageDto, RunWithStepsDto } from './dto/run-response.dto.js';
import type { Request, Response } from 'express';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { ValidationFailedError } from '#src/common/errors.js';
import { ResumeRunDto, RunEventsQueryDto, RunQueryDto, RunStreamQueryDto } from './dto/runs.dto.js';
import { RunEventsService } from './run-events.service.js';
import { RunStreamService } from './run-stream.service.js';
import { toRunView } from './run.view.js';
import { RunsService } from './runs.service.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { Access, type AccessGrant } from '#src/orgs/resource-access.guard.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

@ApiTags('agent runs')
@ApiBearerAuth('bearer')
@KeyScope('runs')
@Controller('agents/runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly events: RunEventsService,
    private readonly streams: RunStreamService,
  ) {}

  @Get()
  @Authorize('run', 'read', { org: 'query.orgId' })
  @ApiOperation({ summary: "My runs (or ?orgId= the organization's), newest first (?taskId= filter)" })
  @ApiOkResponse({ type: RunPageDto })
  async list(@CurrentUser() user: AuthUser, @Query() query: RunQueryDto, @Access() access: AccessGrant) {
    const page = await this.runs.list({ userId: user.id, orgId: access.orgId }, query, query.taskId);
    return { items: page.items.map((run) => toRunView(run)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @Authorize('run', 'read')
  @ApiOperation({ summary: 'A run with its steps' })
  @ApiOkResponse({ type: RunWithStepsDto })
  async get(@Param('id', ParseUUIDPipe) id: string) {
    const { run, steps } = await this.runs.getWithSteps(id);
    return toRunView(run, steps);
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Stored events of a run in seq order (?after=seq)' })
  @ApiOkResponse({ type: RunEventListDto })
  @Authorize('run', 'read')
  async listEvents(@Param('id', ParseUUIDPipe) id: string, @Query() query: RunEventsQueryDto) {
    await this.runs.get(id);
    const messages = await this.events.listAfter(id, query.after ?? 0, query.limit ?? 500);
    return { items: messages.map((message) => ({ seq: message.seq, ...message.event })) };
  }

  @Get(':id/stream')
  @ApiOperation({
    summary: 'Live events (SSE, `id: seq`; Last-Event-ID replays what came after; ends after the terminal event)',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'Server-sent events: `id: <seq>`, `event: <type>`, `data: <event JSON>`; see docs/api.md.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @Authorize('run', 'read')
  async stream(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: RunStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    let after = query.after ?? 0;
    if (lastEventId !== undefined && lastEventId !== '') {
      if (!/^\d{1,9}$/.test(lastEventId))
        throw new ValidationFailedError([{ field: 'Last-Event-ID', message: 'must be an event seq' }]);
      after = Number(lastEventId);
    }
    await this.streams.open(id, after, req, res);
  }

  @Post(':id/resume')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Answer a run in awaiting_input: a plan approval ({approve: true} or {approve: false, feedback}), or a run paused by its budget ({approve: true} continues it from its checkpoint once the limit has room)',
  })
  @ApiAcceptedResponse({ type: RunEnvelopeDto })
  @ApiProblem(400, 'VALIDATION_FAILED', 'A run paused by its budget is answered with {approve: true} only.')
  @ApiProblem(402, 'BUDGET_EXCEEDED', 'The limit that paused the run still has no room for its next call.')
  @ApiProblem(409, 'RUN_NOT_AWAITING_INPUT', 'The run is not waiting for input.')
  @Authorize('run', 'resume')
  async resume(@Param('id', ParseUUIDPipe) id: string, @Body() dto: ResumeRunDto) {
    const run = await this.runs.resume(
      id,
      { approve: dto.approve, feedback: dto.feedback },
      dto.maxCostUsd === undefined ? {} : { maxCostUsd: String(dto.maxCostUsd) },
    );
    return { run: toRunView(run) };
  }
}
