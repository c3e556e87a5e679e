import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { forbiddenAddressClass } from '#src/webhooks/url-guard.js';
import { RepositoryUrlForbiddenError, RepositoryUnreachableError } from './repositories.errors.js';

/**
 * Where git may connect for an http(s) repository URL. Every address the host resolves to is
 * checked (private, loopback, link-local, … are refused unless allowed), and git is then pinned to
 * the checked address (`http.curloptResolve`), so a DNS answer that changes between the check and
 * the connection (rebinding) cannot reach inside. Local (file://) URLs have their own switch.
 */
export async function pinnedResolve(url: string, allowPrivate: boolean): Promise<Array<[string, string]>> {
  if (!/^https?:\/\//i.test(url)) return [];
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new RepositoryUnreachableError(`the host ${host} does not resolve`);
    }
  }
  if (addresses.length === 0) throw new RepositoryUnreachableError(`the host ${host} does not resolve`);
  if (!allowPrivate) {
    for (const { address } of addresses) {
      const forbidden = forbiddenAddressClass(address);
      if (forbidden) throw new RepositoryUrlForbiddenError(`the repository host resolves to a ${forbidden} address`);
    }
  }
  if (isIP(host)) return [];
  const { address, family } = addresses[0];
  return [['http.curloptResolve', `${host}:${port}:${family === 6 ? `[${address}]` : address}`]];
}
