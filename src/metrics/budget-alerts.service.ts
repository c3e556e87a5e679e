import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { EventEnvelope } from '#src/common/events.js';
import { MailService } from '#src/mail/mail.service.js';
import { MembershipsService } from '#src/orgs/memberships.service.js';
import { UsersService } from '#src/users/users.service.js';
import { WebhookOutboxService } from '#src/webhooks/webhook-outbox.service.js';

export type BudgetScopeName = 'user' | 'org' | 'member' | 'apiKey' | 'task';

/** A threshold of one limit reached for the first time in its period (`budget.threshold_reached`). */
export interface BudgetAlert {
  scope: BudgetScopeName;
  /** The user, organization, member (user id), key or task whose limit it is. */
  id: string;
  /** Who made the call that found it. */
  userId: string;
  orgId: string | null;
  limitUsd: string;
  spentUsd: string;
  /** 0.5 for 50 %. */
  threshold: number;
}

const SCOPE_LABELS: Record<BudgetScopeName, string> = {
  user: 'your monthly',
  org: "the organization's monthly",
  member: "the organization's per-member monthly",
  apiKey: "an API key's monthly",
  task: "a task's",
};

/**
 * Reports budget thresholds: a `budget.threshold_reached` event to the webhook subscriptions of
 * whoever owns the limit, and a mail to the people who manage it. `llm_budget_reserve` decides
 * (in the database, under the limit's lock) which threshold is new, so each is reported once per
 * period and scope however many processes make calls.
 */
@Injectable()
export class BudgetAlertsService {
  private readonly logger = new Logger(BudgetAlertsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: WebhookOutboxService,
    private readonly users: UsersService,
    private readonly mail: MailService,
    private readonly memberships: MembershipsService,
  ) {}

  async emit(alerts: BudgetAlert[]): Promise<void> {
    for (const alert of alerts) {
      const event: EventEnvelope = {
        id: randomUUID(),
        type: 'budget.threshold_reached',
        createdAt: new Date().toISOString(),
        data: {
          scope: alert.scope,
          id: alert.id,
          limitUsd: alert.limitUsd,
          spentUsd: alert.spentUsd,
          threshold: alert.threshold,
          ...(alert.orgId ? { orgId: alert.orgId } : {}),
        },
      };
      // An organization's alert goes to the organization's webhooks, a personal one to the user's.
      await this.outbox.record(this.dataSource.manager, { userId: alert.userId, orgId: alert.orgId }, event);
      for (const to of await this.recipients(alert)) {
        this.mail.sendInBackground({
          to,
          subject: `Quorum: ${Math.round(alert.threshold * 100)} % of ${SCOPE_LABELS[alert.scope]} LLM budget reached`,
          text:
            `${Math.round(alert.threshold * 100)} % of ${SCOPE_LABELS[alert.scope]} LLM budget (${alert.scope} ${alert.id}) is spent: ` +
            `${alert.spentUsd} of ${alert.limitUsd} USD.\n` +
            (alert.threshold >= 1 ? 'Model calls over the limit are refused until it is raised.\n' : ''),
        });
      }
      this.logger.log({ alert }, 'Budget threshold reached');
    }
  }

  /** The organization's owners and admins for its limits; the user for their own, their key's and their task's. */
  private async recipients(alert: BudgetAlert): Promise<string[]> {
    const userIds = alert.orgId
      ? (await this.memberships.membersWithRoles(alert.orgId, ['owner', 'admin'])).map((m) => m.userId)
      : [alert.userId];
    const users = await Promise.all(userIds.map((id) => this.users.findById(id)));
    return users.filter((user) => user !== null).map((user) => user.email);
  }
}
