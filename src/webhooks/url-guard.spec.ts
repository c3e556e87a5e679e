import { assertWebhookUrlAllowed, forbiddenAddressClass, parseWebhookUrl } from './url-guard.js';

describe('webhook URL guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped'],
    ['::ffff:7f00:1', 'IPv4-mapped'],
    ['::ffff:8.8.8.8', 'IPv4-mapped'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['64:ff9b::a00:1', 'NAT64 of private'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2001:db8::1', 'reserved'],
    ['4000::1', 'reserved'],
  ])('classifies %s as %s', (address, expected) => {
    expect(forbiddenAddressClass(address)).toBe(expected);
  });

  it.each(['8.8.8.8', '93.184.215.14', '172.32.0.1', '2606:4700::1111', '64:ff9b::808:808', '2002:808:808::'])(
    'lets the public address %s through',
    (address) => {
      expect(forbiddenAddressClass(address)).toBeNull();
    },
  );

  it.each([
    ['ftp://example.com/', 'only http and https'],
    ['file:///etc/passwd', 'only http and https'],
    ['gopher://x/', 'only http and https'],
    ['http://user:pw@example.com/', 'credentials'],
    ['http://user@example.com/', 'credentials'],
    ['not a url', 'not a valid'],
  ])('refuses the form of %s', (url, reason) => {
    expect(() => parseWebhookUrl(url)).toThrow(reason);
  });

  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://017700000001/',
    'http://0/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://localhost:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
  ])('refuses %s unless private URLs are allowed', async (url) => {
    await expect(assertWebhookUrlAllowed(url, false)).rejects.toMatchObject({
      code: 'WEBHOOK_URL_FORBIDDEN',
      status: 400,
    });
    await expect(assertWebhookUrlAllowed(url, true)).resolves.toEqual(new URL(url).toString());
  });
});
