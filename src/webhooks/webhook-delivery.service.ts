import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import type { WebhooksConfig } from '#src/config/webhooks.config.js';
import { webhookHeaders } from './signer.js';
import { parseWebhookUrl, resolveWebhookTarget } from './url-guard.js';
import { WebhookDispatcher } from './webhook-dispatcher.service.js';
import { WebhookHttpClient, WebhookSendResult } from './webhook-http-client.js';
import { WebhookSecrets } from './webhook-secrets.js';
import { WebhookUrlForbiddenError } from './webhooks.errors.js';

interface DeliveryToSend {
  id: string;
  userId: string;
  subscriptionId: string;
  eventId: string;
  body: string;
  status: string;
  attemptCount: number;
  autoRetry: boolean;
  url: string;
  enabled: boolean;
  secretCiphertext: string;
  previousSecretCiphertext: string | null;
  previousSecretExpiresAt: Date | null;
}

const DISABLED_ERROR = 'endpoint disabled';

/**
 * Makes one attempt of one delivery and records it: the attempt row, the delivery's state, the
 * endpoint's failure streak (410 or a streak longer than WEBHOOK_DISABLE_AFTER disables it) and,
 * when attempts remain, the next one on the queue after the schedule's delay.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private readonly config: WebhooksConfig;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly client: WebhookHttpClient,
    private readonly secrets: WebhookSecrets,
    private readonly dispatcher: WebhookDispatcher,
    config: ConfigService<AllConfig, true>,
  ) {
    this.config = config.get('webhooks', { infer: true });
  }

  /** Attempt number `attempt` (1-based) of the delivery; a stale or repeated job is a no-op. */
  async attempt(deliveryId: string, attempt: number): Promise<void> {
    const delivery = await this.load(deliveryId);
    if (!delivery || delivery.status !== 'pending' || delivery.attemptCount !== attempt - 1) return;
    if (!delivery.enabled) {
      await this.failPendingOf(delivery.subscriptionId);
      return;
    }
    const result = await this.send(delivery);
    const next = await this.record(delivery, attempt, result);
    if (next) await this.dispatcher.enqueue([next]);
  }

  private async load(deliveryId: string): Promise<DeliveryToSend | undefined> {
    const [row] = await this.dataSource.query<DeliveryToSend[]>(
      `SELECT d.id, d.user_id AS "userId", d.subscription_id AS "subscriptionId", d.event_id AS "eventId", d.body,
              d.status, d.attempt_count AS "attemptCount", d.auto_retry AS "autoRetry",
              s.url, s.enabled, s.secret_ciphertext AS "secretCiphertext",
              s.previous_secret_ciphertext AS "previousSecretCiphertext",
              s.previous_secret_expires_at AS "previousSecretExpiresAt"
         FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = $1`,
      [deliveryId],
    );
    return row;
  }

  private async send(delivery: DeliveryToSend): Promise<WebhookSendResult> {
    try {
      const url = parseWebhookUrl(delivery.url);
      // Checked again now: the name may resolve elsewhere than when the subscription was saved.
      const target = await resolveWebhookTarget(url, this.config.allowPrivateUrls);
      const secrets = this.secrets.signingSecrets({ ...delivery, id: delivery.subscriptionId });
      const headers = webhookHeaders(secrets, delivery.eventId, delivery.body);
      return await this.client.send({
        url,
        target,
        headers: { ...headers },
        body: delivery.body,
        timeoutMs: this.config.timeoutMs,
      });
    } catch (error) {
      // Logged as a failed attempt so the schedule moves on: a row that can never be sent (say, a
      // secret sealed under another ENCRYPTION_KEY) must not bounce between the queue and the sweeper.
      if (!(error instanceof WebhookUrlForbiddenError))
        this.logger.error(`delivery ${delivery.id}: ${(error as Error).message}`);
      const message =
        error instanceof WebhookUrlForbiddenError
          ? error.message
          : `could not prepare the request: ${(error as Error).message}`;
      return { ok: false, statusCode: null, durationMs: 0, responseBody: null, error: message };
    }
  }

  /** Stores the outcome; returns the next attempt to enqueue, if any. */
  private async record(
    delivery: DeliveryToSend,
    attempt: number,
    result: WebhookSendResult,
  ): Promise<{ deliveryId: string; attempt: number; delayMs: number } | undefined> {
    if (result.ok) {
      // One statement: log the attempt, close the delivery, end the endpoint's failure streak.
      await this.dataSource.query(
        `WITH logged AS (${INSERT_ATTEMPT}),
              done AS (
                UPDATE webhook_deliveries SET status = 'succeeded', attempt_count = $3, next_attempt_at = NULL,
                       last_status_code = $4, last_error = NULL, completed_at = now(), updated_at = now()
                 WHERE id = $1 AND attempt_count = $3 - 1 AND EXISTS (SELECT 1 FROM logged)
             RETURNING subscription_id)
         UPDATE webhook_subscriptions SET failing_since = NULL
          WHERE id IN (SELECT subscription_id FROM done) AND failing_since IS NOT NULL`,
        attemptParams(delivery, attempt, result),
      );
      return undefined;
    }

    return this.dataSource.transaction(async (manager) => {
      const [logged] = await manager.query<unknown[]>(`${INSERT_ATTEMPT}`, attemptParams(delivery, attempt, result));
      if (!logged) return undefined; // another worker already logged this attempt
      const gone = result.statusCode === 410;
      // TypeORM answers an UPDATE … RETURNING with [rows, affected].
      const [[endpoint]] = await manager.query<[Array<{ enabled: boolean; disabledReason: string | null }>, number]>(
        `UPDATE webhook_subscriptions
            SET failing_since = COALESCE(failing_since, now()),
                enabled = enabled AND NOT ($2::boolean OR COALESCE(failing_since, now()) <= now() - make_interval(secs => $3::double precision / 1000)),
                disabled_reason = CASE WHEN NOT enabled THEN disabled_reason WHEN $2::boolean THEN 'gone'
                  WHEN COALESCE(failing_since, now()) <= now() - make_interval(secs => $3::double precision / 1000) THEN 'failing'
                  ELSE NULL END,
                updated_at = now()
          WHERE id = $1
        RETURNING enabled, disabled_reason AS "disabledReason"`,
        [delivery.subscriptionId, gone, this.config.disableAfterMs],
      );
      const schedule = this.config.retryScheduleMs;
      const retry = endpoint?.enabled && delivery.autoRetry && attempt < schedule.length;
      const delayMs = retry ? schedule[attempt] : 0;
      await manager.query(
        `UPDATE webhook_deliveries
            SET status = $4::varchar, attempt_count = $2, last_status_code = $3, last_error = $5, updated_at = now(),
                next_attempt_at = CASE WHEN $4::varchar = 'pending' THEN now() + make_interval(secs => $6::double precision / 1000) END,
                completed_at = CASE WHEN $4::varchar = 'pending' THEN NULL ELSE now() END
          WHERE id = $1`,
        [delivery.id, attempt, result.statusCode, retry ? 'pending' : 'failed', result.error, delayMs],
      );
      if (!endpoint?.enabled) {
        await manager.query(
          `UPDATE webhook_subscriptions SET disabled_at = COALESCE(disabled_at, now()) WHERE id = $1`,
          [delivery.subscriptionId],
        );
        await this.failPendingOf(delivery.subscriptionId, manager);
        this.logger.warn(`webhook ${delivery.subscriptionId} disabled (${endpoint?.disabledReason ?? 'deleted'})`);
      }
      return retry ? { deliveryId: delivery.id, attempt: attempt + 1, delayMs } : undefined;
    });
  }

  /** A disabled endpoint gets no more attempts: its pending deliveries end as failed. */
  async failPendingOf(subscriptionId: string, manager = this.dataSource.manager): Promise<void> {
    await manager.query(
      `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, completed_at = now(), updated_at = now(),
              last_error = COALESCE(last_error || '; ', '') || $2
        WHERE subscription_id = $1 AND status = 'pending'`,
      [subscriptionId, DISABLED_ERROR],
    );
  }
}

const INSERT_ATTEMPT = `INSERT INTO webhook_delivery_attempts (delivery_id, user_id, attempt, status_code, duration_ms, response_body, error)
  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_id, attempt) DO NOTHING RETURNING id`;

function attemptParams(delivery: DeliveryToSend, attempt: number, result: WebhookSendResult): unknown[] {
  return [
    delivery.id,
    delivery.userId,
    attempt,
    result.statusCode,
    result.durationMs,
    result.responseBody,
    result.error,
  ];
}
