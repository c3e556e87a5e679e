import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { PullRequestResponse } from './dto/pull-request.response.js';
import { TaskPublishingService } from './task-publishing.service.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

/** The task routes that publish a result: a patch, and a pull request for repository tasks. */
@ApiTags('tasks')
@ApiBearerAuth('bearer')
@KeyScope('tasks')
@Controller('tasks')
export class TaskPublishingController {
  constructor(private readonly publishing: TaskPublishingService) {}

  @Get(':id/patch')
  @ApiOperation({ summary: "The latest run's result as a git am-able patch (409 NO_RESULT before there is one)" })
  @ApiProduces('text/x-patch')
  @ApiOkResponse({
    description: 'git format-patch output',
    content: { 'text/x-patch': { schema: { type: 'string' } } },
  })
  @Authorize('task', 'read')
  async patch(@Param('id', ParseUUIDPipe) id: string, @Res({ passthrough: true }) res: Response): Promise<string> {
    const { filename, patch } = await this.publishing.patch(id);
    res.type('text/x-patch; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
    return patch;
  }

  @Post(':id/pull-request')
  @HttpCode(201)
  @Throttle({ default: { limit: 10, ttl: 60_000 } })
  @ApiOperation({
    summary: 'Push quorum/<task-id> and open a GitHub pull request (repository tasks); asking again returns it',
  })
  @ApiCreatedResponse({ type: PullRequestResponse })
  @Authorize('task', 'execute')
  openPullRequest(@Param('id', ParseUUIDPipe) id: string): Promise<PullRequestResponse> {
    return this.publishing.openPullRequest(id);
  }
}
