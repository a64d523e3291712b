import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { Backend } from '../../src/backend/app';
import { MemoryLogger } from '../../src/backend/log';
import { removeInBackground } from './cleanup';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const DIST = path.join(REPO, 'dist');

/** A fresh lab home in the temp folder, removed by `cleanup`. */
export function tempHome(): { home: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-test-'));
  return {
    home: path.join(root, '.mllab'),
    cleanup: () => removeInBackground(root),
  };
}

export const TEST_TOKEN = 'a'.repeat(64);

export async function startBackend(home: string, log = new MemoryLogger()): Promise<Backend> {
  return Backend.start({ home, token: TEST_TOKEN, version: '0.0.0-test', log });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => unknown;
}

/**
 * A raw HTTP request on 127.0.0.1, for testing what a misbehaving client sends; with `ca`, over HTTPS
 * trusting that certificate.
 */
export function raw(
  port: number,
  method: string,
  urlPath: string,
  options: { token?: string | null; body?: string | Buffer; headers?: Record<string, string>; ca?: Buffer } = {},
): Promise<RawResponse> {
  const token = options.token === undefined ? TEST_TOKEN : options.token;
  return new Promise((resolve, reject) => {
    const req = (options.ca ? https : http).request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        ...(options.ca ? { ca: options.ca } : {}),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function errorOf(res: RawResponse): { code: string; message: string } {
  return (res.json() as { error: { code: string; message: string } }).error;
}

/** Polls `probe` until it returns a value (not undefined/false), which is returned. */
export async function eventually<T>(probe: () => T | undefined | false, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
