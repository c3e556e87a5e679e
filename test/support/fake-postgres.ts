import { createServer, type Server, type Socket } from 'node:net';

/** How the fake server answers a client's startup message. */
export type FakePostgresAnswer =
  /** An ErrorResponse with this SQLSTATE and message, as PostgreSQL sends when it refuses a login. */
  | { error: { code: string; message: string } }
  /** AuthenticationSASL (SCRAM-SHA-256): the server wants a password. */
  | { sasl: true };

export interface FakePostgres {
  url(user: string, database?: string): string;
  close(): Promise<void>;
}

function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0`, 'utf8'), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

/** An Authentication message ('R') of this kind: 10 = SASL (mechanisms follow), 11 = SASL continue. */
function authentication(kind: number, data: string): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(data, 'utf8')]);
  body.writeInt32BE(kind, 0);
  const header = Buffer.alloc(5);
  header.write('R', 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * A PostgreSQL stand-in on 127.0.0.1 that speaks just enough of the wire protocol (v3) to refuse a
 * login the way a real server does: it reads the startup message and answers with `answer`.
 */
export async function startFakePostgres(answer: FakePostgresAnswer): Promise<FakePostgres> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        // The startup message has no type byte; every later message has one before its length.
        const offset = started ? 1 : 0;
        if (buffered.length < offset + 4) return;
        const length = buffered.readInt32BE(offset);
        if (buffered.length < offset + length) return;
        const message = buffered.subarray(0, offset + length);
        buffered = buffered.subarray(offset + length);
        if (!started) {
          // SSLRequest: "no TLS here"; the client then sends its startup message in clear.
          if (message.readInt32BE(4) === 80877103) {
            socket.write('N');
            continue;
          }
          started = true;
          if ('error' in answer) socket.end(errorResponse(answer.error.code, answer.error.message));
          else socket.write(authentication(10, 'SCRAM-SHA-256\0\0'));
        } else if (message[0] === 0x70 /* 'p': SASLInitialResponse */) {
          // A server-first-message; a client without a password gives up on reading it.
          socket.write(authentication(11, 'r=fakenonce,s=c2FsdA==,i=4096'));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (user, database = 'quorum') => `postgres://${user}@127.0.0.1:${port}/${database}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
