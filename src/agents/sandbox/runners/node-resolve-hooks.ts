/**
 * Module resolution hooks (`--import`ed into every `node --test` process, plain ESM) that forgive
 * what generated code routinely writes and Node's ESM resolver refuses: extensionless relative
 * imports (`./math`), directory imports (`./lib` → `./lib/index.ts`) and TypeScript's `.js`
 * spelling of a `.ts` file (`./math.js` → `./math.ts`). Only relative specifiers that Node could
 * not resolve are retried, only with files that exist, so nothing that resolves today changes.
 */
export const NODE_RESOLVE_HOOKS_SOURCE = String.raw`
import { registerHooks } from 'node:module';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RETRIED = new Set(['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT']);

function isFile(url) {
  try {
    return statSync(fileURLToPath(url)).isFile();
  } catch {
    return false;
  }
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (!relative || !context.parentURL || !RETRIED.has(error?.code)) throw error;
      const js = /\.([mc]?)js$/.exec(specifier);
      const stem = js ? specifier.slice(0, -js[0].length) : specifier;
      const candidates = js
        ? [stem + '.' + js[1] + 'ts', stem + '.tsx']
        : ['.ts', '.mts', '.js', '.mjs', '.cjs', '/index.ts', '/index.mts', '/index.js', '/index.mjs'].map((ext) => stem + ext);
      for (const candidate of candidates) {
        const url = new URL(candidate, context.parentURL);
        if (isFile(url)) return nextResolve(url.href, context);
      }
      throw error;
    }
  },
});
`;
