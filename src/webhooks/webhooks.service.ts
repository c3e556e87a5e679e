import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, IsNull, Repository } from 'typeorm';
import { AuditService } from '#src/audit/audit.service.js';
import type { AuditContext } from '#src/audit/audit-context.decorator.js';
import { ownership } from '#src/orgs/access-policy.js';
import { ResourceLocators } from '#src/orgs/resource-locators.js';
import { ValidationFailedError } from '#src/common/errors.js';
import type { EventEnvelope } from '#src/common/events.js';
import { Page, PageQueryDto, paginate } from '#src/common/pagination.js';
import type { AllConfig } from '#src/config/namespaces.js';
import type { WebhooksConfig } from '#src/config/webhooks.config.js';
import type {
  CreateWebhookDto,
  RotatedSecretView,
  UpdateWebhookDto,
  WebhookDeliveryView,
  WebhookView,
  WebhookWithSecretView,
} from './dto/webhook.dto.js';
import { WebhookDeliveryAttempt } from './entities/webhook-delivery-attempt.entity.js';
import { WebhookDelivery } from './entities/webhook-delivery.entity.js';
import { WebhookSubscription } from './entities/webhook-subscription.entity.js';
import { generateWebhookSecret } from './signer.js';
import { assertWebhookUrlAllowed } from './url-guard.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookDispatcher } from './webhook-dispatcher.service.js';
import { WebhookOutboxService } from './webhook-outbox.service.js';
import { WebhookSecrets } from './webhook-secrets.js';
import {
  WebhookDeliveryInProgressError,
  WebhookDeliveryNotFoundError,
  WebhookDisabledError,
  WebhookLimitReachedError,
  WebhookNotFoundError,
} from './webhooks.errors.js';

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** Subscriptions of one user: CRUD, secret rotation, test events, the delivery log and manual retries. */
@Injectable()
export class WebhooksService {
  private readonly config: WebhooksConfig;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(WebhookSubscription) private readonly subscriptions: Repository<WebhookSubscription>,
    @InjectRepository(WebhookDelivery) private readonly deliveries: Repository<WebhookDelivery>,
    @InjectRepository(WebhookDeliveryAttempt) private readonly attempts: Repository<WebhookDeliveryAttempt>,
    private readonly secrets: WebhookSecrets,
    private readonly outbox: WebhookOutboxService,
    private readonly dispatcher: WebhookDispatcher,
    private readonly delivery: WebhookDeliveryService,
    private readonly audit: AuditService,
    config: ConfigService<AllConfig, true>,
    locators: ResourceLocators,
  ) {
    this.config = config.get('webhooks', { infer: true });
    locators.register('webhook', {
      locate: (id) =>
        this.subscriptions.findOne({ select: { userId: true, orgId: true }, where: { id } }).then(ownership),
      notFound: () => new WebhookNotFoundError(),
    });
  }

  /*
   * Who may do what is decided before these methods run (@Authorize on the routes): they take the
   * subscription's id. An organization's subscriptions receive the events of its runs.
   */

  /** A subscription of the user's own (`orgId` null) or of the organization `orgId`. */
  async create(
    userId: string,
    orgId: string | null,
    input: CreateWebhookDto,
    ctx: AuditContext,
  ): Promise<WebhookWithSecretView> {
    const events = this.eventFilter(input.events);
    const url = await assertWebhookUrlAllowed(input.url, this.config.allowPrivateUrls);
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const saved = await this.dataSource.transaction(async (manager) => {
      // Serialises one owner's creations so two at once cannot both slip under the limit.
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`webhooks:${orgId ?? userId}`]);
      const count = await manager.count(WebhookSubscription, {
        where: orgId ? { orgId } : { userId, orgId: IsNull() },
      });
      if (count >= this.config.maxSubscriptionsPerUser)
        throw new WebhookLimitReachedError(this.config.maxSubscriptionsPerUser);
      const row = await manager.save(
        manager.create(WebhookSubscription, {
          id,
          userId,
          orgId,
          url,
          events,
          description: input.description ?? null,
          enabled: true,
          secretCiphertext: this.secrets.seal(id, secret),
        }),
      );
      await this.audit.record(
        { ...ctx, action: 'webhook.created', target: { type: 'webhook', id }, orgId, data: { url, events } },
        manager,
      );
      return row;
    });
    return { ...this.view(saved), secret };
  }

  /** The organization's subscriptions, or (orgId null) the user's own. */
  async list(scope: { userId: string; orgId: string | null }, page: PageQueryDto): Promise<Page<WebhookView>> {
    const query = this.subscriptions.createQueryBuilder('webhook');
    if (scope.orgId) query.where('webhook.orgId = :orgId', { orgId: scope.orgId });
    else query.where('webhook.userId = :userId AND webhook.orgId IS NULL', { userId: scope.userId });
    const result = await paginate(query, page);
    return { items: result.items.map((row) => this.view(row)), nextCursor: result.nextCursor };
  }

  async get(id: string): Promise<WebhookView> {
    return this.view(await this.findById(id));
  }

  async update(id: string, input: UpdateWebhookDto): Promise<WebhookView> {
    const row = await this.findById(id);
    if (input.url !== undefined) row.url = await assertWebhookUrlAllowed(input.url, this.config.allowPrivateUrls);
    if (input.events !== undefined) row.events = this.eventFilter(input.events);
    if (input.description !== undefined) row.description = input.description;
    if (input.enabled === true && !row.enabled) {
      Object.assign(row, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
    } else if (input.enabled === false && row.enabled) {
      Object.assign(row, { enabled: false, disabledReason: 'user', disabledAt: new Date() });
    }
    const saved = await this.subscriptions.save(row);
    if (!saved.enabled) await this.delivery.failPendingOf(saved.id);
    return this.view(saved);
  }

  async remove(id: string, ctx: AuditContext): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const row = await manager.findOne(WebhookSubscription, {
        select: { id: true, orgId: true, url: true },
        where: { id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) throw new WebhookNotFoundError();
      await manager.delete(WebhookSubscription, { id });
      await this.audit.record(
        {
          ...ctx,
          action: 'webhook.deleted',
          target: { type: 'webhook', id },
          orgId: row.orgId,
          data: { url: row.url },
        },
        manager,
      );
    });
  }

  async rotateSecret(id: string, ctx: AuditContext): Promise<RotatedSecretView> {
    const row = await this.findById(id, true);
    const secret = generateWebhookSecret();
    const previousSecretExpiresAt = new Date(Date.now() + this.config.secretGraceMs);
    const previous = this.secrets.open(row.id, row.secretCiphertext);
    await this.dataSource.transaction(async (manager) => {
      await manager.update(
        WebhookSubscription,
        { id: row.id },
        {
          secretCiphertext: this.secrets.seal(row.id, secret),
          previousSecretCiphertext: this.secrets.seal(row.id, previous, 'previous'),
          previousSecretExpiresAt,
        },
      );
      await this.audit.record(
        { ...ctx, action: 'webhook.secret_rotated', target: { type: 'webhook', id: row.id }, orgId: row.orgId },
        manager,
      );
    });
    return { id: row.id, secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() };
  }

  /** Sends a `webhook.test` event to this endpoint, whatever its event filter. */
  async sendTest(id: string): Promise<WebhookDeliveryView> {
    const row = await this.findById(id);
    if (!row.enabled) throw new WebhookDisabledError();
    const event: EventEnvelope = {
      id: randomUUID(),
      type: 'webhook.test',
      createdAt: new Date().toISOString(),
      data: { webhookId: row.id, message: 'This is a test event from Quorum.' },
    };
    const deliveryId = await this.dataSource.transaction((manager) =>
      this.outbox.recordFor(manager, row.id, row.userId, event),
    );
    return this.deliveryView(await this.deliveries.findOneByOrFail({ id: deliveryId }), []);
  }

  async listDeliveries(id: string, page: PageQueryDto): Promise<Page<WebhookDeliveryView>> {
    await this.findById(id);
    const result = await paginate(
      this.deliveries.createQueryBuilder('delivery').where('delivery.subscriptionId = :id', { id }),
      page,
    );
    const attempts = result.items.length
      ? await this.attempts.find({
          where: { deliveryId: In(result.items.map((d) => d.id)) },
          order: { attempt: 'ASC' },
        })
      : [];
    return {
      items: result.items.map((d) =>
        this.deliveryView(
          d,
          attempts.filter((a) => a.deliveryId === d.id),
        ),
      ),
      nextCursor: result.nextCursor,
    };
  }

  /** One more attempt of a finished delivery, now, with the same webhook-id (no new schedule after it). */
  async retryDelivery(id: string, deliveryId: string): Promise<WebhookDeliveryView> {
    const row = await this.findById(id);
    const delivery = await this.deliveries.findOneBy({ id: deliveryId, subscriptionId: row.id });
    if (!delivery) throw new WebhookDeliveryNotFoundError();
    if (!row.enabled) throw new WebhookDisabledError();
    const result = await this.deliveries
      .createQueryBuilder()
      .update()
      .set({ status: 'pending', autoRetry: false, nextAttemptAt: () => 'now()', completedAt: null })
      .where('id = :deliveryId AND status <> :pending', { deliveryId, pending: 'pending' })
      .returning('*')
      .execute();
    if (!result.affected) throw new WebhookDeliveryInProgressError();
    await this.dispatcher.enqueue([{ deliveryId, attempt: delivery.attemptCount + 1 }]);
    const updated = await this.deliveries.findOneByOrFail({ id: deliveryId });
    const attempts = await this.attempts.find({ where: { deliveryId }, order: { attempt: 'ASC' } });
    return this.deliveryView(updated, attempts);
  }

  private eventFilter(events: string[]): string[] {
    if (events.includes('*') && events.length > 1) {
      throw new ValidationFailedError([{ field: 'events', message: '"*" stands for every event and must be alone' }]);
    }
    return events;
  }

  private async findById(id: string, withSecret = false): Promise<WebhookSubscription> {
    const query = this.subscriptions.createQueryBuilder('webhook').where('webhook.id = :id', { id });
    if (withSecret) query.addSelect('webhook.secretCiphertext');
    const row = await query.getOne();
    if (!row) throw new WebhookNotFoundError();
    return row;
  }

  private view(row: WebhookSubscription): WebhookView {
    return {
      id: row.id,
      url: row.url,
      description: row.description,
      events: row.events,
      enabled: row.enabled,
      disabledReason: row.disabledReason,
      disabledAt: iso(row.disabledAt),
      failingSince: iso(row.failingSince),
      previousSecretExpiresAt: iso(row.previousSecretExpiresAt),
      orgId: row.orgId,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  private deliveryView(row: WebhookDelivery, attempts: WebhookDeliveryAttempt[]): WebhookDeliveryView {
    return {
      id: row.id,
      eventId: row.eventId,
      eventType: row.eventType,
      status: row.status,
      attemptCount: row.attemptCount,
      nextAttemptAt: iso(row.nextAttemptAt),
      lastStatusCode: row.lastStatusCode,
      lastError: row.lastError,
      completedAt: iso(row.completedAt),
      createdAt: row.createdAt.toISOString(),
      attempts: attempts.map((a) => ({
        attempt: a.attempt,
        statusCode: a.statusCode,
        durationMs: a.durationMs,
        responseBody: a.responseBody,
        error: a.error,
        createdAt: a.createdAt.toISOString(),
      })),
    };
  }
}
