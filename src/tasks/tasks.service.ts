import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { RunInput } from '#src/agents/runs/entities/run.entity.js';
import { RunEventsService } from '#src/agents/runs/run-events.service.js';
import { RunView, toRunView } from '#src/agents/runs/run.view.js';
import { RunsService, usageOf } from '#src/agents/runs/runs.service.js';
import { RunActiveError } from '#src/agents/runs/runs.errors.js';
import type { FieldError } from '#src/common/errors.js';
import { ValidationFailedError } from '#src/common/errors.js';
import { Page, paginate } from '#src/common/pagination.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { RepositoriesService } from '#src/repositories/repositories.service.js';
import type { CreateTaskDto, TaskConfigDto, TaskFileDto, UpdateTaskDto } from './dto/task-input.dto.js';
import type { TaskQueryDto } from './dto/task-query.dto.js';
import { Task, TaskConfig, TaskFile } from './entities/task.entity.js';
import { normaliseWorkspacePath } from './file-paths.js';
import { IdempotencyService } from './idempotency.service.js';
import { ModelRefValidator } from './model-ref.validator.js';
import { TaskView, toTaskView } from './task.view.js';
import { NoProviderError, TaskHasNoRunError, TaskNotFoundError } from './tasks.errors.js';
import type { AgentName } from '#src/agents/llm/llm.types.js';
import { judgeModelOverride } from '#src/council/judges.js';
import { retryConflicts } from '#src/database/retry-conflicts.js';
import { ownership } from '#src/orgs/access-policy.js';
import { MembershipsService } from '#src/orgs/memberships.service.js';
import { ResourceLocators } from '#src/orgs/resource-locators.js';

/** Task rules: input limits, ownership, idempotent create/execute, the one-active-run rule. */
@Injectable()
export class TasksService {
  private readonly limits: AllConfig['agents']['limits'];
  private readonly council: { byDefault: boolean; judges: string[] };

  constructor(
    @InjectRepository(Task) private readonly tasks: Repository<Task>,
    private readonly runs: RunsService,
    private readonly events: RunEventsService,
    private readonly idempotency: IdempotencyService,
    private readonly models: ModelRefValidator,
    private readonly repositories: RepositoriesService,
    private readonly memberships: MembershipsService,
    config: ConfigService<AllConfig, true>,
    locators: ResourceLocators,
  ) {
    const agents = config.get('agents', { infer: true });
    this.limits = agents.limits;
    this.council = { byDefault: agents.councilByDefault, judges: agents.councilJudges };
    locators.register('task', {
      locate: (id) => this.tasks.findOne({ select: { userId: true, orgId: true }, where: { id } }).then(ownership),
      notFound: () => new TaskNotFoundError(),
    });
  }

  /*
   * Who may do what is decided before these methods run (@Authorize on the routes, see
   * src/orgs/access-policy.ts): they take the task's id, and the acting user only where it is
   * recorded (author, idempotency, who started a run).
   */

  /** A task of the user's own (`orgId` null) or of the organization `orgId`. */
  async create(
    userId: string,
    orgId: string | null,
    dto: CreateTaskDto,
    idempotencyKey?: string,
  ): Promise<{ status: number; body: { task: TaskView } }> {
    const files = this.checkFiles(dto.files ?? []);
    const config = this.checkConfig(dto.config);
    const mode = dto.mode ?? 'build';
    if (mode === 'review' && files.length === 0 && !dto.repositoryId) {
      throw new ValidationFailedError([{ field: 'files', message: 'a review task needs files or a repositoryId' }]);
    }
    // A repository of anyone or anything else is as unknown as a missing one (404 REPOSITORY_NOT_FOUND).
    if (dto.repositoryId) await this.repositories.assertUsable({ userId, orgId }, dto.repositoryId, config.branch);
    return this.idempotency.execute(
      { userId, name: 'POST /tasks', key: idempotencyKey, request: dto },
      async (manager) => {
        const task = await manager.save(
          manager.create(Task, {
            userId,
            orgId,
            title: dto.title.trim() || dto.title,
            description: dto.description,
            language: dto.language,
            mode,
            repositoryId: dto.repositoryId ?? null,
            files,
            config,
            status: 'draft',
          }),
        );
        const view = toTaskView(task);
        await this.events.recordTaskEvent(manager, { userId, orgId }, 'task.created', { taskId: task.id, task: view });
        return { status: 201, body: { task: view } };
      },
    );
  }

  /** The organization's tasks, or (orgId null) the user's own. */
  async list(scope: { userId: string; orgId: string | null }, query: TaskQueryDto): Promise<Page<TaskView>> {
    const builder = scope.orgId
      ? this.tasks.createQueryBuilder('task').where('task.orgId = :orgId', { orgId: scope.orgId })
      : this.tasks
          .createQueryBuilder('task')
          .where('task.userId = :userId AND task.orgId IS NULL', { userId: scope.userId });
    if (query.status) builder.andWhere('task.status = :status', { status: query.status });
    const page = await paginate(builder, query);
    return { items: page.items.map(toTaskView), nextCursor: page.nextCursor };
  }

  async get(taskId: string): Promise<TaskView> {
    return toTaskView(await this.findById(taskId));
  }

  async update(taskId: string, dto: UpdateTaskDto): Promise<TaskView> {
    const files = dto.files ? this.checkFiles(dto.files) : undefined;
    const config = dto.config ? this.checkConfig(dto.config) : undefined;
    return this.events.transaction(async (manager) => {
      const task = await this.lockById(manager, taskId);
      if (await this.runs.findActiveForTask(manager, task.id)) throw new RunActiveError();
      // The branch of a repository task is checked as POST /tasks checks it.
      if (task.repositoryId && config?.branch !== undefined) {
        await this.repositories.assertUsable(task, task.repositoryId, config.branch);
      }
      Object.assign(task, {
        ...(dto.title !== undefined ? { title: dto.title } : {}),
        ...(dto.description !== undefined ? { description: dto.description } : {}),
        ...(dto.language !== undefined ? { language: dto.language } : {}),
        ...(dto.mode !== undefined ? { mode: dto.mode } : {}),
        ...(files ? { files } : {}),
        ...(config ? { config } : {}),
      });
      if (task.mode === 'review' && task.files.length === 0 && !task.repositoryId) {
        throw new ValidationFailedError([{ field: 'files', message: 'a review task needs files or a repositoryId' }]);
      }
      return toTaskView(await manager.save(task));
    });
  }

  async remove(taskId: string): Promise<void> {
    // The cascade reaches rows that a finishing run's last events and webhook deliveries are still
    // writing; PostgreSQL may pick this transaction as a deadlock victim, so it runs again.
    await retryConflicts(() =>
      this.events.transaction(async (manager) => {
        const task = await this.lockById(manager, taskId);
        if (await this.runs.findActiveForTask(manager, task.id)) throw new RunActiveError();
        await manager.delete(Task, { id: task.id });
      }),
    );
  }

  /**
   * Queues a run started by `userId` (who pays for it): run row + `run.queued` + task status commit
   * together; the job is added after commit. An organization's task holds the organization's row
   * shared meanwhile, so deleting the organization waits for (then sees) the run.
   */
  async execute(
    userId: string,
    taskId: string,
    idempotencyKey?: string,
    /** The API key the request carried: its budget applies to the run. */
    apiKeyId?: string,
  ): Promise<{ status: number; body: { run: RunView } }> {
    const response = await this.idempotency.execute(
      { userId, name: `POST /tasks/${taskId}/execute`, key: idempotencyKey, request: { taskId } },
      async (manager) => {
        const task = await this.lockById(manager, taskId);
        if (task.orgId) await this.memberships.lockOrgShared(manager, task.orgId);
        const noProvider = this.models.checkProviders(this.modelRoutes(task));
        if (noProvider) throw new NoProviderError(noProvider);
        const input: RunInput = {
          title: task.title,
          description: task.description,
          language: task.language,
          mode: task.mode,
          repositoryId: task.repositoryId,
          files: task.files,
          config: task.config,
        };
        const run = await this.runs.createQueued(
          manager,
          { id: task.id, userId, orgId: task.orgId },
          input,
          apiKeyId ?? null,
        );
        return { status: 202, body: { run: JSON.parse(JSON.stringify(toRunView(run))) as RunView } };
      },
    );
    // A crash between the commit above and this enqueue is repaired by the stranded-run sweep.
    if (!response.replayed) await this.runs.enqueue({ id: response.body.run.id, resumeCount: 0 });
    return { status: response.status, body: response.body };
  }

  /** The agents a run of this task calls, each with the task's own model override if it has one. */
  private modelRoutes(task: Task): Array<{ agent: AgentName; override?: string }> {
    const config = task.config ?? {};
    const models: Record<string, string> = config.models ?? {};
    // A review task only reviews; a build task plans, codes and tests first.
    const routes: Array<{ agent: AgentName; override?: string }> =
      task.mode === 'review'
        ? []
        : (['planner', 'coder', 'tester'] as const).map((agent) => ({ agent, override: models[agent] }));
    if (config.councilEnabled ?? this.council.byDefault) {
      for (const name of config.judges ?? this.council.judges)
        routes.push({ agent: `judge.${name}`, override: judgeModelOverride(name, models) });
    } else {
      routes.push({ agent: 'reviewer', override: models.reviewer });
    }
    return routes;
  }

  async cancel(taskId: string): Promise<{ run: RunView }> {
    await this.findById(taskId);
    const run = await this.runs.cancelForTask(taskId);
    return { run: toRunView(run) };
  }

  async result(taskId: string) {
    await this.findById(taskId);
    const run = await this.runs.latestForTask(taskId);
    if (!run) throw new TaskHasNoRunError();
    const result = run.result;
    return {
      runId: run.id,
      status: run.status,
      iteration: run.iteration,
      error: run.error ?? undefined,
      errorCode: run.errorCode ?? undefined,
      files: result?.files ?? [],
      diff: result?.diff ?? '',
      tests: result?.tests
        ? {
            passed: result.tests.passed,
            failed: result.tests.failed,
            output: result.tests.output,
            files: result.tests.files,
          }
        : null,
      review: result?.review
        ? {
            verdict: result.review.verdict,
            summary: result.review.summary,
            issues: result.review.issues,
            score: result.review.score,
          }
        : null,
      council: result?.review?.council,
      plan: result?.plan,
      // Repository tasks: the commit on quorum/<task-id> that holds the result (`diff` is its diff).
      repository: result?.repository ?? undefined,
      usage: usageOf(run),
    };
  }

  private async findById(taskId: string): Promise<Task> {
    const task = await this.tasks.findOne({ where: { id: taskId } });
    if (!task) throw new TaskNotFoundError();
    return task;
  }

  private async lockById(manager: EntityManager, taskId: string): Promise<Task> {
    const task = await manager
      .getRepository(Task)
      .findOne({ where: { id: taskId }, lock: { mode: 'pessimistic_write' } });
    if (!task) throw new TaskNotFoundError();
    return task;
  }

  /** Count, size and path rules; a violation names the field (`files[2].path`). */
  private checkFiles(files: TaskFileDto[]): TaskFile[] {
    const errors: FieldError[] = [];
    if (files.length > this.limits.maxFiles)
      errors.push({ field: 'files', message: `at most ${this.limits.maxFiles} files` });
    const seen = new Set<string>();
    let total = 0;
    const normalised = files.map((file, index) => {
      const result = normaliseWorkspacePath(file.path);
      let path = file.path;
      if ('error' in result) errors.push({ field: `files[${index}].path`, message: result.error });
      else {
        path = result.path;
        if (seen.has(path)) errors.push({ field: `files[${index}].path`, message: 'appears twice' });
        seen.add(path);
      }
      const bytes = Buffer.byteLength(file.content, 'utf8');
      total += bytes;
      if (bytes > this.limits.maxFileBytes)
        errors.push({ field: `files[${index}].content`, message: `must be at most ${this.limits.maxFileBytes} bytes` });
      return { path, content: file.content };
    });
    if (total > this.limits.maxTotalBytes)
      errors.push({ field: 'files', message: `must total at most ${this.limits.maxTotalBytes} bytes` });
    if (errors.length > 0) throw new ValidationFailedError(errors);
    return normalised;
  }

  private checkConfig(dto: TaskConfigDto | undefined): TaskConfig {
    if (!dto) return {};
    const errors: FieldError[] = [];
    for (const [agent, ref] of Object.entries(dto.models ?? {}) as Array<[string, string | undefined]>) {
      if (ref === undefined) continue;
      const problem = this.models.check(ref);
      if (problem) errors.push({ field: `config.models.${agent}`, message: problem });
    }
    if (errors.length > 0) throw new ValidationFailedError(errors);
    const config: TaskConfig = JSON.parse(JSON.stringify(dto)) as TaskConfig;
    return config;
  }
}
