import * as http from 'http';
import * as net from 'net';
import type { PortMapping } from '../../protocol/containers';
import { ApiError } from '../errors';

/** The address a published port is reached on from this machine. */
export function reachableHost(p: PortMapping): string {
  return p.hostIp === '0.0.0.0' || p.hostIp === '' ? '127.0.0.1' : p.hostIp;
}

/** One health probe: true for an answer 2xx or 3xx within `timeoutMs`. */
export function probe(host: string, port: number, path: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Fails with a clear 409 when a host port is taken. Docker says so too, but only after creating the
 * container, and in words about its proxy; this check names the port before anything is created.
 */
export async function checkPortFree(p: PortMapping): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ApiError(
              409,
              'port_in_use',
              `The host port ${p.hostIp}:${p.hostPort} is already in use: pick another host port, or stop what uses it.`,
            )
          : new ApiError(
              400,
              'invalid_port',
              `The host address ${p.hostIp}:${p.hostPort} cannot be used: ${e.message}.`,
            ),
      ),
    );
    server.listen({ host: p.hostIp, port: p.hostPort, exclusive: true }, () => server.close(() => resolve()));
  });
}
