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
    orgId: task.orgId,
    /** The author; an organization's task passes to one of its owners when the author's account is deleted. */
    userId: task.userId,
    files: task.files,
    config: task.config,
    status: task.status,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
  };
}

export type TaskView = ReturnType<typeof toTaskView>;
