import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ConflictError } from '#src/common/errors.js';
import { LastOwnerError } from './orgs.errors.js';

/** What one organization received from a departing member. */
export interface HandedOver {
  orgId: string;
  /** The owner who now holds the resources. */
  heirId: string;
  tasks: number;
  repositories: number;
  webhooks: number;
}

export class OrgRunRunningError extends ConflictError {
  constructor() {
    super(
      'RUN_ACTIVE',
      'One of your runs in an organization is running: cancel it or let it finish before deleting your account.',
    );
  }
}

/**
 * Tasks, runs, repositories and webhooks created in an organization belong to it: when their
 * author deletes their account they stay, handed to an owner of the organization (the one who
 * joined first), with everything that hangs off them (steps, events, council records, repository
 * results, webhook deliveries). The departing member's API keys are credentials, not resources:
 * they go with the account (a run started by one keeps running, without its key). The last owner
 * of an organization cannot delete their account (409 LAST_OWNER), as they cannot leave it.
 *
 * The rows live in other modules' tables; this is the one place that moves them, in the caller's
 * transaction (the one that deletes the user), so a deletion never half-happens.
 */
@Injectable()
export class MemberDepartureService {
  async handOver(manager: EntityManager, userId: string): Promise<HandedOver[]> {
    const orgIds = (
      await manager.query<{ org_id: string }[]>(
        `SELECT org_id FROM org_memberships WHERE user_id = $1
         UNION SELECT org_id FROM tasks WHERE user_id = $1 AND org_id IS NOT NULL
         UNION SELECT org_id FROM repositories WHERE user_id = $1 AND org_id IS NOT NULL
         UNION SELECT org_id FROM webhook_subscriptions WHERE user_id = $1 AND org_id IS NOT NULL
         ORDER BY org_id`,
        [userId],
      )
    ).map((row) => row.org_id);
    if (orgIds.length === 0) return [];
    // Membership changes, run starts and organization deletion serialise on the organization's row;
    // taken in id order so two departures cannot deadlock.
    await manager.query('SELECT id FROM organizations WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [orgIds]);

    const heirs = await manager.query<{ org_id: string; heir: string | null }[]>(
      `SELECT o.id AS org_id,
              (SELECT m.user_id FROM org_memberships m
                WHERE m.org_id = o.id AND m.role = 'owner' AND m.user_id <> $2
                ORDER BY m.created_at, m.user_id LIMIT 1) AS heir
         FROM organizations o WHERE o.id = ANY($1::uuid[]) ORDER BY o.id`,
      [orgIds, userId],
    );
    const orphaned = heirs.filter((row) => row.heir === null).map((row) => row.org_id);
    if (orphaned.length > 0) throw new LastOwnerError(orphaned);

    // A worker holds a running run's user in memory and writes steps and usage under it.
    const [running] = await manager.query<{ running: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM runs WHERE user_id = $1 AND org_id IS NOT NULL AND status = 'running') AS running`,
      [userId],
    );
    if (running.running) throw new OrgRunRunningError();

    const handed: HandedOver[] = [];
    for (const { org_id: orgId, heir } of heirs) {
      const params = [orgId, userId, heir];
      const count = async (sql: string) => {
        const [, affected] = await manager.query<[unknown, number]>(sql, params);
        return affected;
      };
      const orgRuns = 'SELECT id FROM runs WHERE org_id = $1';
      const orgSubscriptions = 'SELECT id FROM webhook_subscriptions WHERE org_id = $1';
      const tasks = await count('UPDATE tasks SET user_id = $3 WHERE org_id = $1 AND user_id = $2');
      await count('UPDATE runs SET user_id = $3 WHERE org_id = $1 AND user_id = $2');
      for (const table of ['run_steps', 'run_events', 'council_verdicts', 'council_reviews', 'repository_results'])
        await count(`UPDATE ${table} SET user_id = $3 WHERE user_id = $2 AND run_id IN (${orgRuns})`);
      const repositories = await count('UPDATE repositories SET user_id = $3 WHERE org_id = $1 AND user_id = $2');
      const webhooks = await count('UPDATE webhook_subscriptions SET user_id = $3 WHERE org_id = $1 AND user_id = $2');
      await count(
        `UPDATE webhook_deliveries SET user_id = $3 WHERE user_id = $2 AND subscription_id IN (${orgSubscriptions})`,
      );
      await count(
        `UPDATE webhook_delivery_attempts SET user_id = $3 WHERE user_id = $2
           AND delivery_id IN (SELECT id FROM webhook_deliveries WHERE subscription_id IN (${orgSubscriptions}))`,
      );
      if (tasks + repositories + webhooks > 0) handed.push({ orgId, heirId: heir!, tasks, repositories, webhooks });
    }
    return handed;
  }
}
