import type { RunnableConfig } from '@langchain/core/runnables';
import { WRITES_IDX_MAP } from '@langchain/langgraph-checkpoint';
import type { ChannelVersions, Checkpoint, CheckpointMetadata, PendingWrite } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type pg from 'pg';

/**
 * LangGraph's PostgreSQL checkpointer with the same tables, rows and reads, whose two writes take
 * one round trip each instead of one per row inside BEGIN … COMMIT: `put` stores the changed
 * channels and the checkpoint in one statement (a data-modifying CTE, atomic like the
 * transaction it replaces) and `putWrites` stores a task's writes in one multi-row INSERT (about
 * 10 round trips per checkpoint before, 2 after).
 */
export class BatchedPostgresSaver extends PostgresSaver {
  private readonly tables: { blobs: string; checkpoints: string; writes: string };

  constructor(
    private readonly db: pg.Pool,
    schema: string,
  ) {
    super(db, undefined, { schema });
    const quoted = `"${schema.replaceAll('"', '""')}"`;
    this.tables = {
      blobs: `${quoted}.checkpoint_blobs`,
      checkpoints: `${quoted}.checkpoints`,
      writes: `${quoted}.checkpoint_writes`,
    };
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (config.configurable === undefined) throw new Error('Missing "configurable" field in "config" param');
    const { thread_id, checkpoint_ns = '', checkpoint_id } = config.configurable as Record<string, string | undefined>;
    const [blobs, serializedMetadata] = await Promise.all([
      this._dumpBlobs(thread_id!, checkpoint_ns, checkpoint.channel_values, newVersions),
      this._dumpMetadata(metadata) as Promise<unknown>,
    ]);
    const params: unknown[] = [
      thread_id,
      checkpoint_ns,
      checkpoint.id,
      checkpoint_id ?? null,
      this._dumpCheckpoint(checkpoint),
      serializedMetadata,
    ];
    const rows = blobs.map(([, , channel, version, type, blob]) => {
      params.push(channel, version, type, blob ?? null);
      const n = params.length;
      return `($1, $2, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
    });
    const storeBlobs = rows.length
      ? `WITH blobs AS (
           INSERT INTO ${this.tables.blobs} (thread_id, checkpoint_ns, channel, version, type, blob)
           VALUES ${rows.join(', ')}
           ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
         ) `
      : '';
    await this.db.query(
      `${storeBlobs}INSERT INTO ${this.tables.checkpoints}
         (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
       DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata`,
      params,
    );
    return { configurable: { thread_id, checkpoint_ns, checkpoint_id: checkpoint.id } };
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    const configurable = (config.configurable ?? {}) as Record<string, string | undefined>;
    const dumped = await this._dumpWrites(
      configurable.thread_id!,
      configurable.checkpoint_ns ?? '',
      configurable.checkpoint_id!,
      taskId,
      writes,
    );
    if (dumped.length === 0) return;
    // Special writes (errors, interrupts…) replace an earlier one at their index; others never do.
    const upsert = writes.every(([channel]) => channel in WRITES_IDX_MAP);
    // One statement cannot touch a row twice: at a repeated index the row that one statement per
    // write would have left wins (the last one when replacing, the first one otherwise).
    const byIndex = new Map<number, (typeof dumped)[number]>();
    for (const row of dumped) if (upsert || !byIndex.has(row[4])) byIndex.set(row[4], row);
    const params: unknown[] = [];
    const rows = [...byIndex.values()].map((row) => {
      params.push(...row);
      const n = params.length;
      return `(${Array.from({ length: 8 }, (_, i) => `$${n - 7 + i}`).join(', ')})`;
    });
    await this.db.query(
      `INSERT INTO ${this.tables.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob)
       VALUES ${rows.join(', ')}
       ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${
         upsert ? 'DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob' : 'DO NOTHING'
       }`,
      params,
    );
  }
}
