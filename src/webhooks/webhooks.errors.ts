import { ConflictError, DomainError, NotFoundError } from '#src/common/errors.js';

export class WebhookNotFoundError extends NotFoundError {
  constructor() {
    super('Webhook', 'WEBHOOK_NOT_FOUND');
  }
}

export class WebhookDeliveryNotFoundError extends NotFoundError {
  constructor() {
    super('Webhook delivery', 'WEBHOOK_DELIVERY_NOT_FOUND');
  }
}

/** The URL is not one Quorum will call: wrong scheme, credentials, or an address inside a private network. */
export class WebhookUrlForbiddenError extends DomainError {
  constructor(reason: string) {
    super('WEBHOOK_URL_FORBIDDEN', `The webhook URL is not allowed: ${reason}.`, 400, {
      errors: [{ field: 'url', message: reason }],
    });
  }
}

export class WebhookLimitReachedError extends ConflictError {
  constructor(limit: number) {
    super('WEBHOOK_LIMIT_REACHED', `A user may have at most ${limit} webhooks.`);
  }
}

export class WebhookDisabledError extends ConflictError {
  constructor() {
    super('WEBHOOK_DISABLED', 'The webhook is disabled; enable it first.');
  }
}

export class WebhookDeliveryInProgressError extends ConflictError {
  constructor() {
    super('WEBHOOK_DELIVERY_IN_PROGRESS', 'The delivery still has attempts pending; wait for it to finish.');
  }
}
