import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, Page } from '#src/common/pagination.js';
import type { AuditEventQueryDto, AuditEventView } from './dto/audit-event.dto.js';
import { AuditEvent } from './entities/audit-event.entity.js';

/** Whose events a reader may see: everything (admins), one organization's, or one account's. */
export type AuditScope = { kind: 'all' } | { kind: 'org'; orgId: string } | { kind: 'account'; userId: string };

const view = (row: AuditEvent): AuditEventView => ({
  id: row.id,
  at: row.at.toISOString(),
  actorType: row.actorType,
  actorId: row.actorId,
  action: row.action,
  targetType: row.targetType,
  targetId: row.targetId,
  orgId: row.orgId,
  ip: row.ip,
  userAgent: row.userAgent,
  data: row.data,
});

/** Reading the audit trail: filters, newest first, keyset pagination over (at, id). */
@Injectable()
export class AuditEventsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(scope: AuditScope, query: AuditEventQueryDto): Promise<Page<AuditEventView>> {
    const limit = query.limit ?? 20;
    const q = this.dataSource.getRepository(AuditEvent).createQueryBuilder('e');
    if (scope.kind === 'org') q.andWhere('e.orgId = :orgId', { orgId: scope.orgId });
    if (scope.kind === 'account') {
      q.andWhere(
        new Brackets((b) =>
          b
            .where('e.actorUserId = :userId', { userId: scope.userId })
            .orWhere('e.subjectUserId = :userId', { userId: scope.userId }),
        ),
      );
    }
    if (query.action) q.andWhere('e.action = :action', { action: query.action });
    if (query.from) q.andWhere('e.at >= :from', { from: new Date(query.from) });
    if (query.to) q.andWhere('e.at < :to', { to: new Date(query.to) });
    if (query.cursor) {
      const { createdAt, id } = decodeCursor(query.cursor);
      q.andWhere('(e.at, e.id) < (:at, :id)', { at: createdAt, id });
    }
    const rows = await q
      .orderBy('e.at', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .take(limit + 1)
      .getMany();
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map(view),
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.at.toISOString(), id: last.id }) : null,
    };
  }
}
