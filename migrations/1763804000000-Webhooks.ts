import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Webhooks1763804000000 implements MigrationInterface {
  name = 'Webhooks1763804000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_subscriptions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        url text NOT NULL,
        description varchar(500),
        events text[] NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason varchar(16),
        disabled_at timestamptz(3),
        failing_since timestamptz(3),
        secret_ciphertext text NOT NULL,
        previous_secret_ciphertext text,
        previous_secret_expires_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT webhook_subscriptions_events_not_empty CHECK (cardinality(events) > 0)
      )`);
    await queryRunner.query(
      'CREATE INDEX webhook_subscriptions_user_created_idx ON webhook_subscriptions (user_id, created_at, id)',
    );
    await queryRunner.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        event_id uuid NOT NULL,
        event_type varchar(64) NOT NULL,
        body text NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
        attempt_count int NOT NULL DEFAULT 0,
        auto_retry boolean NOT NULL DEFAULT true,
        next_attempt_at timestamptz(3),
        last_status_code int,
        last_error text,
        completed_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT webhook_deliveries_subscription_event_key UNIQUE (subscription_id, event_id)
      )`);
    await queryRunner.query(
      'CREATE INDEX webhook_deliveries_subscription_created_idx ON webhook_deliveries (subscription_id, created_at, id)',
    );
    // The sweeper's scan: only rows still waiting for an attempt.
    await queryRunner.query(
      `CREATE INDEX webhook_deliveries_pending_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await queryRunner.query('CREATE INDEX webhook_deliveries_user_idx ON webhook_deliveries (user_id)');
    await queryRunner.query(`
      CREATE TABLE webhook_delivery_attempts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        attempt int NOT NULL,
        status_code int,
        duration_ms int NOT NULL,
        response_body text,
        error text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT webhook_delivery_attempts_delivery_attempt_key UNIQUE (delivery_id, attempt)
      )`);
    await queryRunner.query('CREATE INDEX webhook_delivery_attempts_user_idx ON webhook_delivery_attempts (user_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE webhook_delivery_attempts');
    await queryRunner.query('DROP TABLE webhook_deliveries');
    await queryRunner.query('DROP TABLE webhook_subscriptions');
  }
}
