import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RunEnvelopeDto } from '#src/agents/runs/dto/run-response.dto.js';
import { TaskEnvelopeDto, TaskPageDto, TaskResultDto } from './dto/task-response.dto.js';
import type { Response } from 'express';
import { CurrentUser } from '#src/auth/decorators/current-user.decorator.js';
import { RequireVerifiedEmail } from '#src/auth/decorators/require-verified-email.decorator.js';
import type { AuthUser } from '#src/auth/auth-user.js';
import { CreateTaskDto, UpdateTaskDto } from './dto/task-input.dto.js';
import { TaskQueryDto } from './dto/task-query.dto.js';
import { TasksService } from './tasks.service.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { Access, type AccessGrant } from '#src/orgs/resource-access.guard.js';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Same key + same body within 24 h returns the original response; a different body is 409 IDEMPOTENCY_CONFLICT.',
};

@ApiTags('tasks')
@ApiBearerAuth('bearer')
@KeyScope('tasks')
@Controller('tasks')
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post()
  @RequireVerifiedEmail()
  @Authorize('task', 'create', { org: 'body.orgId' })
  @ApiOperation({ summary: 'Create a task' })
  @ApiCreatedResponse({ type: TaskEnvelopeDto })
  @ApiHeader(IDEMPOTENCY_HEADER)
  async create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateTaskDto,
    @Access() access: AccessGrant,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const response = await this.tasks.create(user.id, access.orgId, dto, key);
    res.status(response.status);
    return response.body;
  }

  @Get()
  @Authorize('task', 'read', { org: 'query.orgId' })
  @ApiOperation({ summary: "List my tasks (or ?orgId= the organization's), newest first (?status= filter)" })
  @ApiOkResponse({ type: TaskPageDto })
  list(@CurrentUser() user: AuthUser, @Query() query: TaskQueryDto, @Access() access: AccessGrant) {
    return this.tasks.list({ userId: user.id, orgId: access.orgId }, query);
  }

  @Get(':id')
  @Authorize('task', 'read')
  @ApiOkResponse({ type: TaskEnvelopeDto })
  async get(@Param('id', ParseUUIDPipe) id: string) {
    return { task: await this.tasks.get(id) };
  }

  @Patch(':id')
  @Authorize('task', 'update')
  @ApiOperation({ summary: 'Edit a task (409 RUN_ACTIVE while a run is active)' })
  @ApiOkResponse({ type: TaskEnvelopeDto })
  async update(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateTaskDto) {
    return { task: await this.tasks.update(id, dto) };
  }

  @Delete(':id')
  @Authorize('task', 'delete')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a task and its runs (409 RUN_ACTIVE while a run is active)' })
  @ApiNoContentResponse()
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.tasks.remove(id);
  }

  @Post(':id/execute')
  @KeyScope('runs', 'write')
  @RequireVerifiedEmail()
  @Authorize('task', 'execute')
  @ApiOperation({ summary: 'Start a run (202 {run}; 409 RUN_ACTIVE while another run is active)' })
  @ApiAcceptedResponse({ type: RunEnvelopeDto })
  @ApiHeader(IDEMPOTENCY_HEADER)
  async execute(
    @CurrentUser() user: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const response = await this.tasks.execute(user.id, id, key);
    res.status(response.status);
    return response.body;
  }

  @Post(':id/cancel')
  @KeyScope('runs', 'write')
  @Authorize('task', 'cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel the active run (409 RUN_NOT_CANCELLABLE when there is none)' })
  @ApiAcceptedResponse({ type: RunEnvelopeDto })
  cancel(@Param('id', ParseUUIDPipe) id: string) {
    return this.tasks.cancel(id);
  }

  @Get(':id/result')
  @Authorize('task', 'read')
  @ApiOperation({ summary: "The latest run's result: files, diff, real test results, review, usage" })
  @ApiOkResponse({ type: TaskResultDto })
  result(@Param('id', ParseUUIDPipe) id: string) {
    return this.tasks.result(id);
  }
}
