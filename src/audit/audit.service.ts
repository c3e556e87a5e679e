import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '#src/auth/principal.js';
import { AuditActorType, AuditEvent } from './entities/audit-event.entity.js';

/** Who did it: a user, an API key (acting for its owner), or Quorum itself. */
export interface AuditActor {
  type: AuditActorType;
  /** The user's or key's id; null for the system. */
  id: string | null;
  /** The account behind the actor (the user, or the key's owner). */
  userId: string | null;
}

export interface AuditRecord {
  actor: AuditActor;
  /** `auth.login`, `org.member_joined`, … (API.md "Audit events"). */
  action: string;
  target?: { type: string; id: string | null } | null;
  orgId?: string | null;
  /** The account the event is about, when it is not the actor (a role changed, a user edited by an admin). */
  subjectUserId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  data?: Record<string, unknown>;
}

/** The client a request came from, for the `ip` and `userAgent` of a record. */
export interface AuditClient {
  ip?: string | null;
  userAgent?: string | null;
}

export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: null, userId: null };

export function userActor(userId: string): AuditActor {
  return { type: 'user', id: userId, userId };
}

export function actorOf(principal: Principal): AuditActor {
  return principal.kind === 'apiKey'
    ? { type: 'apiKey', id: principal.keyId, userId: principal.userId }
    : userActor(principal.userId);
}

export function auditClient(req: Pick<Request, 'ip' | 'headers'>): AuditClient {
  const userAgent = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null };
}

/**
 * Writes audit events: `audit.record({actor, action, target, orgId, ip, userAgent})`. Pass the
 * EntityManager of the transaction that makes the change, so the change and its record commit
 * together; without one the record is written on its own.
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(record: AuditRecord, manager?: EntityManager): Promise<void> {
    const target = record.target ?? null;
    const repository = (manager ?? this.dataSource.manager).getRepository(AuditEvent);
    await repository.save(
      repository.create({
        actorType: record.actor.type,
        actorId: record.actor.id,
        actorUserId: record.actor.userId,
        subjectUserId: record.subjectUserId ?? record.actor.userId,
        action: record.action,
        targetType: target?.type ?? null,
        targetId: target?.id ?? null,
        orgId: record.orgId ?? null,
        ip: record.ip?.slice(0, 64) ?? null,
        userAgent: record.userAgent?.slice(0, 512) ?? null,
        data: record.data ?? {},
      }),
      { transaction: false, reload: false },
    );
  }
}
