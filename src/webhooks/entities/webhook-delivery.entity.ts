import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';

/** `pending` while attempts remain (one is queued or due); `succeeded` and `failed` are final until a manual retry. */
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One event for one subscription (the outbox row); its attempts are logged in webhook_delivery_attempts. */
@Entity('webhook_deliveries')
@Unique('webhook_deliveries_subscription_event_key', ['subscriptionId', 'eventId'])
@Index('webhook_deliveries_subscription_created_idx', ['subscriptionId', 'createdAt', 'id'])
export class WebhookDelivery {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'subscription_id', type: 'uuid' })
  subscriptionId!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  /** The event envelope's id: the `webhook-id` of every attempt, so receivers can deduplicate. */
  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ name: 'event_type', type: 'varchar', length: 64 })
  eventType!: string;

  /** The exact JSON body sent (and signed) on every attempt. */
  @Column({ type: 'text' })
  body!: string;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: WebhookDeliveryStatus;

  @Column({ name: 'attempt_count', type: 'int', default: 0 })
  attemptCount!: number;

  /** False after a manual retry: that retry is a single attempt, not a new schedule. */
  @Column({ name: 'auto_retry', type: 'boolean', default: true })
  autoRetry!: boolean;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', precision: 3, nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'last_status_code', type: 'int', nullable: true })
  lastStatusCode!: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'completed_at', type: 'timestamptz', precision: 3, nullable: true })
  completedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;
}
