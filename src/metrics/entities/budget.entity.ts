import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A user's monthly spending limit; the row is also the lock that serialises reservations. */
@Entity('llm_budgets')
export class Budget {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** Null: no limit. */
  @Column({ name: 'monthly_limit_usd', type: 'numeric', precision: 18, scale: 8, nullable: true })
  monthlyLimitUsd: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
