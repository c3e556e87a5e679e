/**
 * A `node --test` custom reporter (plain ESM, written to a file the sandbox can read) that emits one
 * JSON object per line for every finished test and for what each test file printed on stderr, so
 * the analyzer parses structured events instead of human-oriented text. Runs inside the sandbox.
 */
export const NODE_TEST_REPORTER_SOURCE = String.raw`
import { createWriteStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { isAbsolute, relative } from 'node:path';

const MAX_MESSAGE = 4000;
const MAX_STDERR = 4000;
// Per file: enough for a compile error or a crash, never enough to crowd test events out of the report.
const MAX_STDERR_PER_FILE = 16000;
const stderrSeen = new Map();

function messageOf(error) {
  if (!error) return null;
  const cause = error.cause;
  const picked = cause !== undefined && cause !== null ? cause : error;
  let text;
  if (typeof picked === 'object' && picked !== null && 'message' in picked) text = String(picked.message);
  else text = String(picked);
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + '…' : text;
}

// Files as the workspace names them (test:stderr already does; test:pass/fail give absolute paths).
function fileOf(file) {
  if (typeof file !== 'string') return null;
  return isAbsolute(file) ? relative(process.cwd(), file) : file;
}

function lineOf(event) {
  const d = event.data ?? {};
  if (event.type === 'test:pass' || event.type === 'test:fail') {
    const details = d.details ?? {};
    const error = details.error;
    return JSON.stringify({
      type: event.type === 'test:pass' ? 'pass' : 'fail',
      name: String(d.name),
      nesting: d.nesting ?? 0,
      file: fileOf(d.file),
      suite: details.type === 'suite',
      skip: d.skip !== undefined && d.skip !== false,
      todo: d.todo !== undefined && d.todo !== false,
      failureType: error?.failureType ?? null,
      message: event.type === 'test:fail' ? messageOf(error) : null,
    }) + '\n';
  }
  if (event.type === 'test:stderr') {
    const file = fileOf(d.file);
    const seen = stderrSeen.get(file) ?? 0;
    if (seen >= MAX_STDERR_PER_FILE) return null;
    const text = String(d.message ?? '').slice(0, MAX_STDERR);
    stderrSeen.set(file, seen + text.length);
    return JSON.stringify({ type: 'stderr', file, text }) + '\n';
  }
  return null;
}

function openReportFd() {
  let info;
  try {
    info = fstatSync(3);
  } catch {
    return null;
  }
  if (info.isSocket() || info.isFIFO()) return new Socket({ fd: 3, readable: false, writable: true });
  if (info.isFile()) return createWriteStream('', { fd: 3 });
  // Not ours (without fd 3 from the parent, Node's own descriptors start at 3): report nothing.
  return null;
}

// fd 3 is a socket the sandbox's parent reads (opening /dev/fd/3 fails on sockets: ENXIO, so no
// --test-reporter-destination can name it): the reporter writes there itself and yields nothing.
export default async function* quorumReporter(source) {
  const out = openReportFd();
  if (!out) {
    for await (const event of source) void event;
    return;
  }
  out.on('error', () => {});
  for await (const event of source) {
    const line = lineOf(event);
    if (line && !out.write(line)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve) => out.end(resolve));
}
`;
