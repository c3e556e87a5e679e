import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type OAuthProvider = 'github' | 'google' | 'microsoft';
export const OAUTH_PROVIDERS: readonly OAuthProvider[] = ['github', 'google', 'microsoft'];

/** A provider identity linked to a user, keyed by provider + the provider's subject id. */
@Entity({ name: 'oauth_accounts' })
export class OAuthAccount {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 32 })
  provider: OAuthProvider;

  @Column({ name: 'provider_user_id', type: 'varchar', length: 255 })
  providerUserId: string;

  @Column({ type: 'citext', nullable: true })
  email: string | null;

  /** Provider tokens, AES-256-GCM (context `oauth:<id>:access` / `oauth:<id>:refresh`). */
  @Column({ name: 'access_token', type: 'text', nullable: true, select: false })
  accessToken: string | null;

  @Column({ name: 'refresh_token', type: 'text', nullable: true, select: false })
  refreshToken: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
