import type { Task } from './entities/task.entity.js';

/** The public shape of a task (API.md "Tasks"). */
export function toTaskView(task: Task) {
  return {
    id: task.id,
    title: task.title,
    description: task.description,
    language: task.language,
    mode: task.mode,
    repositoryId: task.repositoryId,
    files: task.files,
    config: task.config,
    status: task.status,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
  };
}

export type TaskView = ReturnType<typeof toTaskView>;
