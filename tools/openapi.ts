// `npm run openapi`: writes the API's OpenAPI document to docs/openapi.json (committed; the spec
// test src/bootstrap/openapi-document.spec.ts fails when it is stale).
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from '../src/bootstrap/openapi-offline.js';

const document = await buildOpenApiDocument();
const target = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
const operations = Object.values(document.paths).reduce((count, item) => count + Object.keys(item).length, 0);
console.log(`docs/openapi.json: ${Object.keys(document.paths).length} paths, ${operations} operations`);
