import pg from 'pg';
import { createTestDatabase, dropTestDatabase } from '../support/test-database.js';

/** The audit trail is history: the database itself refuses to rewrite or erase it. */
describe('audit_events is append-only (the migrated schema)', () => {
  let database: { name: string; url: string };
  let pool: pg.Pool;
  let id: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const inserted = await pool.query<{ id: string }>(
      `INSERT INTO audit_events (actor_type, actor_id, actor_user_id, action, target_type, target_id, ip)
       VALUES ('user', gen_random_uuid(), gen_random_uuid(), 'auth.login', 'session', 's-1', '127.0.0.1')
       RETURNING id`,
    );
    id = inserted.rows[0].id;
  });
  afterAll(async () => {
    await pool?.end();
    if (database) await dropTestDatabase(database.name);
  });

  it.each([
    ['UPDATE', "UPDATE audit_events SET action = 'auth.logout' WHERE id = $1", true],
    ['DELETE', 'DELETE FROM audit_events WHERE id = $1', true],
    ['TRUNCATE', 'TRUNCATE audit_events', false],
  ])('refuses %s, and the record is unchanged', async (operation, sql, withId) => {
    await expect(pool.query(sql, withId ? [id] : [])).rejects.toMatchObject({
      code: '42501',
      message: `audit_events is append-only: ${operation} refused`,
    });
    const rows = await pool.query<{ action: string }>('SELECT action FROM audit_events');
    expect(rows.rows).toEqual([{ action: 'auth.login' }]);
  });

  it('still takes new records', async () => {
    await pool.query(`INSERT INTO audit_events (actor_type, action) VALUES ('system', 'maintenance.ran')`);
    const count = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
    expect(Number(count.rows[0].n)).toBe(2);
  });
});
