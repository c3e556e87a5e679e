import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakePackage {
  name: string;
  version: string;
  /** index.js of the package. */
  main: string;
}

export interface FakeNpmRegistry {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  /** A package-lock.json (v3) for a project depending on the given packages, resolved here. */
  lockFor(project: string, names: string[]): string;
  close(): Promise<void>;
}

/**
 * A local npm registry speaking the registry's real read protocol (packuments at `/<name>`,
 * tarballs with sha512 integrity), so `npm ci` / `npm install` run for real without the internet.
 */
export async function startFakeNpmRegistry(packages: FakePackage[]): Promise<FakeNpmRegistry> {
  const work = mkdtempSync(join(tmpdir(), 'quorum-npm-'));
  const tarballs = new Map<string, { data: Buffer; integrity: string; shasum: string }>();
  for (const pkg of packages) {
    const dir = join(work, pkg.name, 'package');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: pkg.name, version: pkg.version, main: 'index.js' }),
    );
    writeFileSync(join(dir, 'index.js'), pkg.main);
    const file = join(work, `${pkg.name}-${pkg.version}.tgz`);
    execFileSync('tar', ['-czf', file, '-C', join(work, pkg.name), 'package']);
    const data = readFileSync(file);
    tarballs.set(`${pkg.name}-${pkg.version}.tgz`, {
      data,
      integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
      shasum: createHash('sha1').update(data).digest('hex'),
    });
  }
  const requests: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const tarball = /^\/[^/]+\/-\/(.+\.tgz)$/.exec(path);
    if (tarball && tarballs.has(tarball[1])) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarballs.get(tarball[1])!.data);
      return;
    }
    const pkg = packages.find((p) => `/${p.name}` === path);
    if (!pkg) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
      return;
    }
    const file = `${pkg.name}-${pkg.version}.tgz`;
    const { integrity, shasum } = tarballs.get(file)!;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        name: pkg.name,
        'dist-tags': { latest: pkg.version },
        versions: {
          [pkg.version]: {
            name: pkg.name,
            version: pkg.version,
            main: 'index.js',
            dist: { tarball: `${url}/${pkg.name}/-/${file}`, integrity, shasum },
          },
        },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    lockFor: (project, names) => {
      const deps = Object.fromEntries(
        names.map((name) => [name, packages.find((p) => p.name === name)!.version] as const),
      );
      const lock = {
        name: project,
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: project, version: '1.0.0', dependencies: deps },
          ...Object.fromEntries(
            names.map((name) => {
              const version = deps[name];
              const file = `${name}-${version}.tgz`;
              return [
                `node_modules/${name}`,
                { version, resolved: `${url}/${name}/-/${file}`, integrity: tarballs.get(file)!.integrity },
              ];
            }),
          ),
        },
      };
      return `${JSON.stringify(lock, null, 2)}\n`;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(work, { recursive: true, force: true });
    },
  };
}
