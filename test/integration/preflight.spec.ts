import { checkPostgres, checkRedis, PreflightError } from '../../src/bootstrap/preflight.js';
import { startFakePostgres, type FakePostgres } from '../support/fake-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { freePort } from '../support/processes.js';

async function failure(check: Promise<unknown>): Promise<string> {
  try {
    await check;
  } catch (error) {
    if (error instanceof PreflightError) return error.message;
    throw error;
  }
  throw new Error('expected the check to fail');
}

describe('start-up checks say what the server answered', () => {
  describe('PostgreSQL', () => {
    let fake: FakePostgres | undefined;
    afterEach(async () => {
      await fake?.close();
      fake = undefined;
    });

    it('a role that does not exist (28000) is named, with the DATABASE_URL to set', async () => {
      fake = await startFakePostgres({ error: { code: '28000', message: 'role "postgres" does not exist' } });
      const message = await failure(checkPostgres(fake.url('postgres')));
      expect(message).toMatch(
        /^PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/quorum answered: role "postgres" does not exist; set DATABASE_URL=/,
      );
      expect(message).toContain('postgres://quorum:quorum@127.0.0.1:5432/quorum');
      expect(message).not.toMatch(/Cannot reach|pg_ctlcluster/);
    });

    it('a refused password (28P01) is an authentication failure, not "cannot reach"', async () => {
      fake = await startFakePostgres({
        error: { code: '28P01', message: 'password authentication failed for user "quorum"' },
      });
      const message = await failure(checkPostgres(fake.url('quorum:wrong-secret')));
      expect(message).toMatch(/refused the login: authentication failed for user "quorum"/);
      expect(message).toContain('postgres://quorum:***@127.0.0.1');
      expect(message).not.toContain('wrong-secret');
      expect(message).not.toContain('Cannot reach');
    });

    it('a server that wants a password the URL lacks (the compose file with the default URL) says so', async () => {
      fake = await startFakePostgres({ sasl: true });
      const message = await failure(checkPostgres(fake.url('postgres')));
      expect(message).toMatch(/wants a password for user "postgres" and DATABASE_URL has none; set DATABASE_URL=/);
      expect(message).toContain('DATABASE_URL=postgres://quorum:quorum@127.0.0.1:5432/quorum');
      expect(message).not.toMatch(/SASL|docker compose .* up/);
    });

    it('a missing maintenance database (3D000) says what to create', async () => {
      fake = await startFakePostgres({ error: { code: '3D000', message: 'database "postgres" does not exist' } });
      const message = await failure(checkPostgres(fake.url('postgres', 'app')));
      expect(message).toContain('has no database "postgres" to connect to while creating "app"');
      expect(message).toContain('createdb app');
    });

    it('nothing listening is "not listening", with how to start it', async () => {
      const port = await freePort();
      const message = await failure(checkPostgres(`postgres://postgres@127.0.0.1:${port}/quorum`));
      expect(message).toBe(
        `Cannot reach PostgreSQL at postgres://postgres@127.0.0.1:${port}/quorum: nothing is listening at 127.0.0.1:${port} (ECONNREFUSED); start it with 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' or 'docker compose -f docker/docker-compose.yml up -d postgres'.`,
      );
    });
  });

  describe('Redis', () => {
    let redis: PrivateRedis | undefined;
    afterEach(async () => {
      await redis?.stop();
      redis = undefined;
    });

    it('nothing listening names the port of REDIS_URL in the advice', async () => {
      const port = await freePort();
      const message = await failure(checkRedis(`redis://127.0.0.1:${port}`));
      expect(message).toBe(
        `Cannot reach Redis at redis://127.0.0.1:${port}: nothing is listening at 127.0.0.1:${port} (ECONNREFUSED); start it with 'redis-server --daemonize yes --bind 127.0.0.1 --port ${port} --save "" --appendonly no'.`,
      );
    });

    it('a server with a password and a URL without one is NOAUTH, said as such', async () => {
      redis = await startPrivateRedis(['--requirepass', 'right-secret']);
      const message = await failure(checkRedis(`redis://127.0.0.1:${redis.port}`));
      expect(message).toBe(
        `Redis at redis://127.0.0.1:${redis.port} requires a password and REDIS_URL gives none (NOAUTH): set REDIS_URL=redis://:PASSWORD@127.0.0.1:${redis.port}.`,
      );
    });

    it('a wrong password is WRONGPASS, and the password never appears', async () => {
      redis = await startPrivateRedis(['--requirepass', 'right-secret']);
      const message = await failure(checkRedis(`redis://:wrong-secret@127.0.0.1:${redis.port}`));
      expect(message).toMatch(
        /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password in REDIS_URL \(WRONGPASS/,
      );
      expect(message).not.toContain('wrong-secret');
      await expect(checkRedis(`redis://:right-secret@127.0.0.1:${redis.port}`)).resolves.toBeUndefined();
    });
  });
});
