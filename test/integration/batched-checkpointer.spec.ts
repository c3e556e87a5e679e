import { Annotation, END, START, StateGraph, interrupt, Command } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import { BatchedPostgresSaver } from '../../src/agents/graph/batched-postgres-saver.js';
import { CHECKPOINT_SCHEMA } from '../../src/agents/graph/run-graph.service.js';
import { createTestDatabase, dropTestDatabase } from '../support/test-database.js';

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  big: Annotation<string>({ reducer: (_a, b) => b, default: () => '' }),
});

/** A small graph with parallel branches, a large value, an interrupt and a failing node. */
function graphWith(checkpointer: PostgresSaver) {
  return new StateGraph(State)
    .addNode('a', () => ({ log: ['a'], big: 'x'.repeat(200_000) }))
    .addNode('b1', () => ({ log: ['b1'] }))
    .addNode('b2', () => ({ log: ['b2'] }))
    .addNode('ask', () => ({ log: [`answer ${interrupt<string, string>('question?')}`] }))
    .addNode('fail', (state) => {
      if (state.log.includes('answer boom')) throw new Error('node failed');
      return { log: ['done'] };
    })
    .addEdge(START, 'a')
    .addEdge('a', 'b1')
    .addEdge('a', 'b2')
    .addEdge(['b1', 'b2'], 'ask')
    .addEdge('ask', 'fail')
    .addEdge('fail', END)
    .compile({ checkpointer });
}

describe('BatchedPostgresSaver (real PostgreSQL)', () => {
  let database: { name: string; url: string };
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await dropTestDatabase(database.name);
  });

  /** The stored rows of a thread, ids and timestamps aside, in a stable order. */
  async function rowsOf(thread: string) {
    const q = async (sql: string) => (await pool.query(sql, [thread])).rows;
    return {
      checkpoints: (
        await q(
          `SELECT count(*)::int AS n, count(parent_checkpoint_id)::int AS parents FROM ${CHECKPOINT_SCHEMA}.checkpoints WHERE thread_id = $1`,
        )
      )[0],
      blobs: await q(
        `SELECT channel, type, octet_length(blob) AS size FROM ${CHECKPOINT_SCHEMA}.checkpoint_blobs WHERE thread_id = $1 ORDER BY channel, version`,
      ),
      writes: await q(
        `SELECT idx, channel, type, octet_length(blob) AS size FROM ${CHECKPOINT_SCHEMA}.checkpoint_writes WHERE thread_id = $1 ORDER BY checkpoint_id, task_id, idx`,
      ),
    };
  }

  async function play(checkpointer: PostgresSaver, thread: string, answer: string) {
    const graph = graphWith(checkpointer);
    const config = { configurable: { thread_id: thread } };
    await graph.invoke({ log: ['start'] }, config);
    const paused = await graph.getState(config);
    const error = await graph.invoke(new Command({ resume: answer }), config).then(
      () => null,
      (e: Error) => e.message,
    );
    const history: unknown[] = [];
    for await (const snapshot of graph.getStateHistory(config)) history.push(snapshot.values);
    return {
      paused: paused.tasks.map((t) => t.interrupts.map((i) => i.value)),
      error,
      final: (await graph.getState(config)).values,
      history,
    };
  }

  it('stores and reads back exactly what the stock saver does, one statement per write, no transaction blocks', async () => {
    const statements: string[] = [];
    const counted = new pg.Pool({ connectionString: database.url, max: 4 });
    counted.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const sql = args[0];
        statements.push(typeof sql === 'string' ? sql.trim().split(/\s+/)[0] : 'other');
        return query(...args);
      };
    });
    try {
      for (const answer of ['yes', 'boom']) {
        const stock = await play(
          new PostgresSaver(pool, undefined, { schema: CHECKPOINT_SCHEMA }),
          `stock-${answer}`,
          answer,
        );
        const saver = new BatchedPostgresSaver(counted, CHECKPOINT_SCHEMA);
        let writes = 0;
        const put = saver.put.bind(saver);
        const putWrites = saver.putWrites.bind(saver);
        saver.put = (...args) => ((writes += 1), put(...args));
        saver.putWrites = (...args) => ((writes += args[1].length > 0 ? 1 : 0), putWrites(...args));
        statements.length = 0;
        const batched = await play(saver, `batched-${answer}`, answer);
        expect(batched).toEqual(stock);
        expect(await rowsOf(`batched-${answer}`)).toEqual(await rowsOf(`stock-${answer}`));
        expect(writes).toBeGreaterThan(5);
        expect(statements.filter((s) => s === 'WITH' || s === 'INSERT')).toHaveLength(writes);
        expect(statements.filter((s) => /^(BEGIN|COMMIT)$/i.test(s))).toEqual([]);
      }
      const again = await play(new BatchedPostgresSaver(counted, CHECKPOINT_SCHEMA), 'batched-final', 'yes');
      expect(again.paused).toEqual([['question?']]);
      expect(again.final).toMatchObject({ log: ['start', 'a', 'b1', 'b2', 'answer yes', 'done'] });
      expect(again.history.length).toBeGreaterThan(4);
    } finally {
      await counted.end();
    }
  });

  it('writes a checkpoint and its channels in one statement: all or nothing', async () => {
    const saver = new BatchedPostgresSaver(pool, CHECKPOINT_SCHEMA);
    const graph = graphWith(saver);
    const config = { configurable: { thread_id: 'atomic' } };
    await graph.invoke({ log: ['start'] }, config);
    const before = await rowsOf('atomic');
    // A checkpoint row that cannot be stored (a NUL in its id) leaves none of its channels behind either.
    const latest = await saver.getTuple(config);
    await expect(
      saver.put(
        config,
        {
          ...latest!.checkpoint,
          id: 'broken\u0000',
          channel_values: { log: ['x'] },
          channel_versions: { log: 'v-broken' },
        },
        { source: 'loop', step: 99, parents: {} } as never,
        { log: 'v-broken' },
      ),
    ).rejects.toThrow();
    expect(await rowsOf('atomic')).toEqual(before);
  });
});
