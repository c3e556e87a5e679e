import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, isUUID, Max, MaxLength, Min } from 'class-validator';
import { Brackets, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { ValidationFailedError } from './errors.js';

/** `?limit=1..100&cursor=` as every list endpoint accepts it. */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor from a previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface CursorPosition {
  createdAt: string;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    // Both are compared with typed columns (timestamptz, uuid): anything else would be a database
    // error, not a 400. The time goes back as the ISO string the cursor was made from.
    if (typeof createdAt !== 'string' || typeof id !== 'string' || !isUUID(id)) throw new Error();
    const iso = new Date(createdAt).toISOString(); // throws on an invalid date
    if (!/^\d{4}-/.test(iso)) throw new Error();
    return { createdAt: iso, id };
  } catch {
    throw new ValidationFailedError([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
  }
}

/**
 * Keyset pagination, newest first, over (createdAt, id): stable under concurrent inserts, with no
 * OFFSET scans. The query builder's main alias must have `createdAt` and `id` columns.
 */
export async function paginate<T extends ObjectLiteral & { id: string; createdAt: Date }>(
  query: SelectQueryBuilder<T>,
  page: PageQueryDto,
): Promise<Page<T>> {
  const limit = page.limit ?? 20;
  const alias = query.alias;
  if (page.cursor) {
    const { createdAt, id } = decodeCursor(page.cursor);
    query.andWhere(
      new Brackets((qb) => {
        qb.where(`${alias}.createdAt < :cursorCreatedAt`, { cursorCreatedAt: createdAt }).orWhere(
          `${alias}.createdAt = :cursorCreatedAt AND ${alias}.id < :cursorId`,
          { cursorCreatedAt: createdAt, cursorId: id },
        );
      }),
    );
  }
  const rows = await query
    .orderBy(`${alias}.createdAt`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .take(limit + 1)
    .getMany();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor:
      rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
  };
}
