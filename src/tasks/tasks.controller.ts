import { ApiProblem } from '#src/common/openapi-conventions.js';
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
  @ApiProblem(
    403,
    ['EMAIL_NOT_VERIFIED', 'CSRF_TOKEN_INVALID'],
    'Verify your email address first (or, in cookie mode, the CSRF header is missing).',
  )
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
  @ApiOperation({ summary: 'One task (mine, or of an organization I belong to)' })
  @ApiProblem(404, 'TASK_NOT_FOUND', 'No such task visible to you.')
  async get(@Param('id', ParseUUIDPipe) id: string) {
    return { task: await this.tasks.get(id) };
  }

  @Patch(':id')
  @Authorize('task', 'update')
  @ApiOperation({ summary: 'Edit a task (409 RUN_ACTIVE while a run is active)' })
  @ApiOkResponse({ type: TaskEnvelopeDto })
  @ApiProblem(404, 'TASK_NOT_FOUND', 'No such task visible to you.')
  @ApiProblem(403, 'FORBIDDEN', "Your role in the task's organization does not allow this.")
  @ApiProblem(409, 'RUN_ACTIVE', 'A run of this task is queued, running or awaiting input.')
  async update(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateTaskDto) {
    return { task: await this.tasks.update(id, dto) };
  }

  @Delete(':id')
  @Authorize('task', 'delete')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a task and its runs (409 RUN_ACTIVE while a run is active)' })
  @ApiNoContentResponse()
  @ApiProblem(404, 'TASK_NOT_FOUND', 'No such task visible to you.')
  @ApiProblem(403, 'FORBIDDEN', "Your role in the task's organization does not allow this.")
  @ApiProblem(409, 'RUN_ACTIVE', 'A run of this task is queued, running or awaiting input.')
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
  @ApiProblem(402, 'BUDGET_EXCEEDED', 'The monthly LLM budget is spent.')
  @ApiProblem(
    403,
    ['EMAIL_NOT_VERIFIED', 'CSRF_TOKEN_INVALID'],
    'Verify your email address first (or, in cookie mode, the CSRF header is missing).',
  )
  @ApiProblem(404, 'TASK_NOT_FOUND', 'No such task of yours.')
  @ApiProblem(
    409,
    ['RUN_ACTIVE', 'IDEMPOTENCY_CONFLICT'],
    'Another run is active, or the Idempotency-Key was used for another request.',
  )
  @ApiProblem(
    429,
    ['TOO_MANY_QUEUED_RUNS', 'RATE_LIMITED'],
    'You already have MAX_QUEUED_RUNS_PER_USER runs waiting for a worker (or sent too many requests); see Retry-After.',
  )
  @ApiProblem(
    503,
    'SERVER_BUSY',
    'MAX_QUEUED_RUNS runs are waiting for a worker; nothing was created, try again after Retry-After seconds.',
  )
  async execute(
    @CurrentUser() user: AuthUser,
    @Param('id', ParseUUIDPipe) id: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const response = await this.tasks.execute(user.id, id, key, user.apiKey?.id);
    res.status(response.status);
    return response.body;
  }

  @Post(':id/cancel')
  @KeyScope('runs', 'write')
  @Authorize('task', 'cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel the active run (409 RUN_NOT_CANCELLABLE when there is none)' })
  @ApiAcceptedResponse({ type: RunEnvelopeDto })
  @ApiProblem(404, 'TASK_NOT_FOUND', 'No such task visible to you.')
  @ApiProblem(403, 'FORBIDDEN', "Your role in the task's organization does not allow this.")
  @ApiProblem(409, 'RUN_NOT_CANCELLABLE', 'The task has no queued, running or waiting run.')
  cancel(@Param('id', ParseUUIDPipe) id: string) {
    return this.tasks.cancel(id);
  }

  @Get(':id/result')
  @Authorize('task', 'read')
  @ApiOperation({ summary: "The latest run's result: files, diff, real test results, review, usage" })
  @ApiOkResponse({ type: TaskResultDto })
  @ApiProblem(404, 'TASK_NOT_FOUND', 'No such task visible to you.')
  result(@Param('id', ParseUUIDPipe) id: string) {
    return this.tasks.result(id);
  }
}
