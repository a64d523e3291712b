import * as net from 'net';

/** the names proxy-addr (fastify's trustProxy) knows for ranges of addresses */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `--trust-proxy 127.0.0.1,10.0.0.0/8,loopback` -> the addresses (or CIDR ranges) of the reverse
 * proxies in front of the lab. A request whose connection comes from one of them is taken to be from the
 * client its X-Forwarded-For names (the audit log records that address) and to have arrived over the
 * protocol of its X-Forwarded-Proto; any other request's X-Forwarded-* headers are ignored, since a
 * client could write them itself.
 */
export function parseTrustProxy(text: string): string[] {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) {
    throw new Error('--trust-proxy takes the addresses of the reverse proxies, e.g. 127.0.0.1 or 10.0.0.0/24.');
  }
  for (const entry of entries) {
    if (!RANGE_NAMES.has(entry) && !isAddressOrRange(entry)) {
      throw new Error(
        `--trust-proxy: "${entry}" is not an IP address, a CIDR range (10.0.0.0/24) or one of ${[...RANGE_NAMES].join(', ')}: give the address the reverse proxy connects from.`,
      );
    }
  }
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const version = net.isIP(address);
  if (version === 0 || rest.length > 0) {
    return false;
  }
  if (bits === undefined) {
    return true;
  }
  const max = version === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}
