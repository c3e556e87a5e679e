import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A small client a web app would write with openapi-fetch: sign in, create a task, execute it, read the result. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type TaskResult = components['schemas']['TaskResultDto'];

export async function runTask(baseUrl: string, email: string, password: string): Promise<TaskResult> {
  const client = createClient<paths>({ baseUrl, credentials: 'include' });
  const login = await client.POST('/api/v1/auth/login', { body: { email, password, cookie: true } });
  if (login.error) throw new Error(login.error.code + ': ' + login.error.detail);
  if (!('csrfToken' in login.data) || !login.data.csrfToken) throw new Error('two-factor sign-in needed');
  const headers = { 'X-CSRF-Token': login.data.csrfToken };
  const created = await client.POST('/api/v1/tasks', {
    body: { title: 'Reverse a string', description: 'Write reverse(s).', language: 'javascript' },
    headers,
  });
  if (created.error) throw new Error(created.error.code);
  const id: string = created.data.task.id;
  const executed = await client.POST('/api/v1/tasks/{id}/execute', { params: { path: { id } }, headers });
  if (executed.error) throw new Error(executed.error.code);
  const runId: string = executed.data.run.id;
  const result = await client.GET('/api/v1/tasks/{id}/result', { params: { path: { id } } });
  if (result.error) throw new Error(result.error.requestId);
  if (result.data.runId !== runId) throw new Error('another run');
  return result.data;
}
`;

/** Calls the generated types must refuse: if they were \`any\`, this would compile too. */
const MISUSE = `
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1' });
export const wrongBody = client.POST('/api/v1/tasks', { body: { title: 42, description: 'x', language: 'cobol' } });
export const noSuchPath = client.GET('/api/v1/no-such-route');
export const missingParam = client.GET('/api/v1/tasks/{id}/result', {});
`;

function typeErrors(dir: string, file: string): string[] {
  const program = ts.createProgram([join(dir, file)], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? d.file.fileName.slice(dir.length + 1) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    );
}

describe('a client generated from docs/openapi.json', () => {
  let dir: string;

  beforeAll(async () => {
    // Inside node_modules, so the client's `openapi-fetch` import resolves as in an app.
    dir = mkdtempSync(join(ROOT, 'node_modules', '.quorum-openapi-client-'));
    const document = JSON.parse(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      join(dir, 'api.ts'),
      astToString(
        // A field with a default is still optional in a request body (openapi-typescript 7 would
        // otherwise make it required everywhere).
        await openapiTS(document as never, { defaultNonNullable: false }),
      ),
    );
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    writeFileSync(join(dir, 'misuse.ts'), MISUSE);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('type-checks an openapi-fetch client that signs in, creates a task, executes it and reads the result', () => {
    expect(typeErrors(dir, 'client.ts')).toEqual([]);
  });

  it('has real types: a wrong body, an unknown path and a missing path parameter do not compile', () => {
    const errors = typeErrors(dir, 'misuse.ts');
    expect(errors.filter((e) => e.startsWith('misuse.ts'))).toEqual([
      expect.stringContaining("Type 'number' is not assignable to type 'string'"),
      expect.stringContaining('"cobol"'),
      expect.stringContaining('Expected 2 arguments, but got 1'),
      expect.stringContaining("Property 'params' is missing"),
    ]);
  });
});
