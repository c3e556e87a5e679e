import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A git repository a user's tasks may target. The access token is only ever stored encrypted. */
@Entity('repositories')
@Index('repositories_user_created_idx', ['userId', 'createdAt', 'id'])
export class Repository {
  /** Assigned by the service before insert: the id is part of the token's encryption context. */
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** The organization the resource belongs to (null: the user's own). */
  @Column({ name: 'org_id', type: 'uuid', nullable: true })
  orgId: string | null;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'default_branch', type: 'text' })
  defaultBranch: string;

  /** EncryptionService ciphertext under context `repository:<id>:token`. */
  @Column({ name: 'access_token_encrypted', type: 'text', nullable: true })
  accessTokenEncrypted: string | null;

  /** Environment setup (e.g. `npm ci`); null: detected from the repository's files. */
  @Column({ name: 'setup_command', type: 'text', nullable: true })
  setupCommand: string | null;

  /** The command whose exit code judges a run (e.g. `npm test`); null: detected. */
  @Column({ name: 'test_command', type: 'text', nullable: true })
  testCommand: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
