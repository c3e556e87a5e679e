// Baseline 1: the bare node:http hello the framework overhead is measured against.
import { createServer } from 'node:http';

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
