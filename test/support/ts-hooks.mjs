// ESM loader hooks that run the TypeScript sources directly in a child process (the worker-crash
// test spawns a real worker this way): `.js` specifiers resolve to the `.ts` file beside them and
// `#src/*` to src/, and each file is compiled with SWC exactly as jest does (decorator metadata).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transform } from '@swc/core';

const root = new URL('../../', import.meta.url);

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('#src/')) {
    const target = new URL(`src/${specifier.slice(5)}`, root);
    return next(tsTwin(target) ?? target.href, context);
  }
  if (
    (specifier.startsWith('./') || specifier.startsWith('../')) &&
    specifier.endsWith('.js') &&
    context.parentURL?.startsWith('file:')
  ) {
    const target = new URL(specifier, context.parentURL);
    const twin = tsTwin(target);
    if (twin) return { url: twin, shortCircuit: true, format: 'module' };
  }
  return next(specifier, context);
}

function tsTwin(url) {
  const path = fileURLToPath(url);
  if (!path.endsWith('.js')) return undefined;
  const ts = `${path.slice(0, -3)}.ts`;
  return existsSync(ts) ? pathToFileURL(ts).href : undefined;
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const output = await transform(source, {
    filename: fileURLToPath(url),
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      target: 'es2023',
      keepClassNames: true,
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    module: { type: 'es6' },
  });
  return { format: 'module', source: output.code, shortCircuit: true };
}
