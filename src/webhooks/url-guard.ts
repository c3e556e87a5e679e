import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { WebhookUrlForbiddenError } from './webhooks.errors.js';

/**
 * SSRF guard for webhook URLs. A URL is checked when it is saved and again before every attempt;
 * the attempt then connects to exactly the address that was checked (see webhook-http-client.ts),
 * so a DNS answer that changes between check and connect (rebinding) cannot reach inside.
 *
 * Numeric-host tricks (`2130706433`, `0x7f.1`, `127.1`, `017700000001`) need no special code: the
 * WHATWG URL parser canonicalises them to dotted IPv4 before the address is classified.
 */
type Family = 'ipv4' | 'ipv6';

function blockList(entries: Array<[string, number]>, family: Family): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of entries) list.addSubnet(network, prefix, family);
  return list;
}

const IPV4_CLASSES: Array<[string, BlockList]> = [
  ['unspecified', blockList([['0.0.0.0', 8]], 'ipv4')],
  ['loopback', blockList([['127.0.0.0', 8]], 'ipv4')],
  [
    'private',
    blockList(
      [
        ['10.0.0.0', 8],
        ['172.16.0.0', 12],
        ['192.168.0.0', 16],
      ],
      'ipv4',
    ),
  ],
  ['link-local', blockList([['169.254.0.0', 16]], 'ipv4')],
  ['carrier-grade NAT', blockList([['100.64.0.0', 10]], 'ipv4')],
  ['multicast', blockList([['224.0.0.0', 4]], 'ipv4')],
  [
    'reserved',
    blockList(
      [
        ['192.0.0.0', 24],
        ['192.0.2.0', 24],
        ['198.18.0.0', 15],
        ['198.51.100.0', 24],
        ['203.0.113.0', 24],
        ['240.0.0.0', 4],
      ],
      'ipv4',
    ),
  ],
];

const IPV6_CLASSES: Array<[string, BlockList]> = [
  ['unspecified', blockList([['::', 128]], 'ipv6')],
  ['loopback', blockList([['::1', 128]], 'ipv6')],
  ['IPv4-mapped', blockList([['::ffff:0:0', 96]], 'ipv6')],
  ['IPv4-compatible', blockList([['::', 96]], 'ipv6')],
  [
    'link-local',
    blockList(
      [
        ['fe80::', 10],
        ['fec0::', 10],
      ],
      'ipv6',
    ),
  ],
  ['unique-local', blockList([['fc00::', 7]], 'ipv6')],
  ['multicast', blockList([['ff00::', 8]], 'ipv6')],
  [
    'reserved',
    blockList(
      [
        ['100::', 64],
        ['2001:db8::', 32],
        ['2001::', 32],
        ['64:ff9b:1::', 48],
      ],
      'ipv6',
    ),
  ],
];

/** Only global unicast space (2000::/3) is reachable on the public IPv6 internet. */
const IPV6_GLOBAL = blockList([['2000::', 3]], 'ipv6');
/** Prefixes that carry an IPv4 address inside, which is then classified itself. */
const NAT64 = blockList([['64:ff9b::', 96]], 'ipv6');
const SIX_TO_FOUR = blockList([['2002::', 16]], 'ipv6');

/** The 16 bytes of an IPv6 address (any textual form, including an embedded dotted quad). */
function ipv6Bytes(address: string): Buffer {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const bytes = Buffer.alloc(16);
  [...headGroups, ...zeros, ...tailGroups].forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

const ipv4FromBytes = (bytes: Buffer, offset: number) => [...bytes.subarray(offset, offset + 4)].join('.');

/** The class of a forbidden address (`loopback`, `private`, …), or null for a public one. */
export function forbiddenAddressClass(address: string): string | null {
  const version = isIP(address.replace(/%.*$/, ''));
  if (version === 4) {
    if (address === '255.255.255.255') return 'broadcast';
    return IPV4_CLASSES.find(([, list]) => list.check(address, 'ipv4'))?.[0] ?? null;
  }
  if (version !== 6) return 'not an IP address';
  const plain = address.replace(/%.*$/, '');
  const named = IPV6_CLASSES.find(([, list]) => list.check(plain, 'ipv6'))?.[0];
  if (named) return named;
  if (NAT64.check(plain, 'ipv6')) {
    const inner = forbiddenAddressClass(ipv4FromBytes(ipv6Bytes(plain), 12));
    return inner ? `NAT64 of ${inner}` : null;
  }
  if (SIX_TO_FOUR.check(plain, 'ipv6')) {
    const inner = forbiddenAddressClass(ipv4FromBytes(ipv6Bytes(plain), 2));
    return inner ? `6to4 of ${inner}` : null;
  }
  return IPV6_GLOBAL.check(plain, 'ipv6') ? null : 'reserved';
}

/** The URL's own form: http(s) only, no credentials, a host. Throws WEBHOOK_URL_FORBIDDEN. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlForbiddenError('not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookUrlForbiddenError('only http and https URLs are allowed');
  if (url.username || url.password) throw new WebhookUrlForbiddenError('credentials in the URL are not allowed');
  if (!url.hostname) throw new WebhookUrlForbiddenError('the URL has no host');
  return url;
}

/** `[::1]` → `::1`: the form DNS and `net` expect. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves the URL's host and checks every address it resolves to (one forbidden address refuses
 * the URL: the resolver may hand out any of them). Returns the address to connect to.
 */
export async function resolveWebhookTarget(url: URL, allowPrivate: boolean): Promise<ResolvedTarget> {
  const host = bareHostname(url);
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new WebhookUrlForbiddenError(`the host ${host} does not resolve`);
    }
    if (addresses.length === 0) throw new WebhookUrlForbiddenError(`the host ${host} does not resolve`);
  }
  if (!allowPrivate) {
    for (const { address } of addresses) {
      const forbidden = forbiddenAddressClass(address);
      if (forbidden) throw new WebhookUrlForbiddenError(`the host resolves to a ${forbidden} address`);
    }
  }
  return { address: addresses[0].address, family: addresses[0].family === 6 ? 6 : 4 };
}

/** Checks a URL as a subscription stores it (form + resolved addresses). Returns the normalised URL. */
export async function assertWebhookUrlAllowed(raw: string, allowPrivate: boolean): Promise<string> {
  const url = parseWebhookUrl(raw);
  await resolveWebhookTarget(url, allowPrivate);
  return url.toString();
}
