import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * What a run of a repository task produced: the commit on `quorum/<task-id>` as a git am-able
 * patch (kept here, so the workspace can be removed and a pull request still opened later) and
 * the pull request once one is opened.
 */
@Entity('repository_results')
@Index('repository_results_task_idx', ['taskId', 'createdAt'])
export class RepositoryResult {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** Null once the repository record is deleted; the patch stays downloadable. */
  @Column({ name: 'repository_id', type: 'uuid', nullable: true })
  repositoryId: string | null;

  @Column({ name: 'task_id', type: 'uuid' })
  taskId: string;

  @Column({ name: 'run_id', type: 'uuid', unique: true })
  runId: string;

  @Column({ type: 'text' })
  branch: string;

  @Column({ name: 'base_branch', type: 'text' })
  baseBranch: string;

  @Column({ name: 'base_sha', type: 'text' })
  baseSha: string;

  @Column({ name: 'commit_sha', type: 'text' })
  commitSha: string;

  @Column({ type: 'text' })
  patch: string;

  @Column({ type: 'text' })
  diff: string;

  @Column({ name: 'pull_request_url', type: 'text', nullable: true })
  pullRequestUrl: string | null;

  @Column({ name: 'pull_request_number', type: 'integer', nullable: true })
  pullRequestNumber: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
