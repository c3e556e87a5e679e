import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Task, TaskStatus } from './entities/task.entity.js';

/**
 * The one way other modules move a task's status: inside their own transaction, so a task's status
 * and the run event that reports it commit together.
 */
@Injectable()
export class TaskStatusService {
  async set(manager: EntityManager, taskId: string, status: TaskStatus): Promise<void> {
    await manager.update(Task, { id: taskId }, { status });
  }

  /** Sets the task's `config.maxCostUsd` (raising the limit of a run paused by it, for the task's later runs too). */
  async setMaxCost(manager: EntityManager, taskId: string, maxCostUsd: string): Promise<void> {
    await manager.query(
      `UPDATE tasks SET config = jsonb_set(COALESCE(config, '{}'::jsonb), '{maxCostUsd}', to_jsonb($2::text)) WHERE id = $1`,
      [taskId, maxCostUsd],
    );
  }
}
