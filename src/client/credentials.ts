// The stored login of `mllab login` and the checks of what a person gives to reach a remote lab
// (its URL, a token, a CA file), each refused with a sentence that says what to do.
import { randomBytes, X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const MAX_URL_LENGTH = 2048;
export const MAX_TOKEN_LENGTH = 4096;
const MAX_CA_BYTES = 1024 * 1024;
const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** What `mllab login` stores: the lab, the token and the CA to trust (a self-signed lab). */
export interface StoredLogin {
  readonly url: string;
  readonly token: string;
  /** PEM certificate(s) of the lab's CA */
  readonly ca?: string;
  /** the user the token speaks for, when it was stored */
  readonly user?: string;
  readonly savedAt: string;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * A lab's URL as given (`https://lab.example.com`, `https://host:8443/mllab`), checked and without a
 * trailing slash. Plain HTTP is refused off this machine: the token would cross the network in clear.
 */
export function parseLabUrl(text: string, what = 'The lab URL'): string {
  const given = text.trim();
  if (given.length === 0 || given.length > MAX_URL_LENGTH) {
    throw new Error(`${what} must be 1 to ${MAX_URL_LENGTH} characters long, e.g. https://lab.example.com:8443.`);
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new Error(`${what} "${given.slice(0, 200)}" is not a URL: give it as https://HOST[:PORT].`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${what} must start with https:// (or http:// on this machine), not ${url.protocol}//.`);
  }
  if (url.username || url.password) {
    throw new Error(`${what} must not hold a user or password: give the token with MLLAB_TOKEN or "mllab login".`);
  }
  if (url.search || url.hash) {
    throw new Error(`${what} must not have a query or fragment: give the lab's address only, e.g. ${url.origin}.`);
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new Error(
      `${what} ${url.origin} is plain HTTP off this machine, so the token would cross the network in clear text: ` +
        'use https:// (the lab serves TLS with "mllab serve --tls-cert FILE --tls-key FILE", or behind a reverse proxy).',
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** A bearer token as given: visible ASCII only, bounded. */
export function checkToken(text: string, what = 'The token'): string {
  const token = text.trim();
  if (token.length === 0) {
    throw new Error(`${what} is empty: give the token an admin of the lab created ("mllab token create").`);
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new Error(`${what} is longer than ${MAX_TOKEN_LENGTH} characters: that is not an ML Lab token.`);
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new Error(`${what} holds spaces or characters no token has: copy it again, without anything around it.`);
  }
  return token;
}

/** The PEM certificate(s) of a CA file, checked. */
export function readCaFile(file: string, what = 'The CA file'): string {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CA_BYTES) {
      throw new Error(`it is larger than ${MAX_CA_BYTES / 1024} KiB`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${what} ${file} cannot be read (${(e as Error).message}): give the PEM file of the lab's CA.`);
  }
  return checkCa(text, `${what} ${file}`);
}

function checkCa(text: string, what: string): string {
  try {
    if (!text.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error('no "BEGIN CERTIFICATE" block');
    }
    new X509Certificate(text);
  } catch (e) {
    throw new Error(
      `${what} is not a PEM certificate (${(e as Error).message}): give the CA's certificate, not a key.`,
    );
  }
  return text;
}

/** `$XDG_CONFIG_HOME/mllab/credentials.json`, else `~/.config/mllab/credentials.json`. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.config');
  return path.join(base, 'mllab', 'credentials.json');
}

/** The stored login, undefined when there is none; a file others can read, or a damaged one, is refused. */
export function readLogin(env: NodeJS.ProcessEnv = process.env): StoredLogin | undefined {
  const file = credentialsFile(env);
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new Error(
        `${file} holds a token but others may read it (mode ${(stat.mode & 0o777).toString(8)}): ` +
          `run "chmod 600 ${file}", or "mllab logout" and log in again (and have the token revoked if others could read it).`,
      );
    }
    if (stat.size > MAX_FILE_BYTES) {
      throw new Error(`${file} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB: it is not a login of ML Lab.`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw e;
  }
  try {
    const stored = JSON.parse(text) as Partial<StoredLogin>;
    const ca = stored.ca === undefined || stored.ca === null ? undefined : checkCa(String(stored.ca), 'its CA');
    return {
      url: parseLabUrl(String(stored.url ?? ''), 'its URL'),
      token: checkToken(String(stored.token ?? ''), 'its token'),
      ...(ca ? { ca } : {}),
      ...(typeof stored.user === 'string' ? { user: stored.user.slice(0, 64) } : {}),
      savedAt: String(stored.savedAt ?? ''),
    };
  } catch (e) {
    throw new Error(
      `${file} is not a login that ML Lab can use (${(e as Error).message}): run "mllab logout", then "mllab login URL".`,
    );
  }
}

/** Stores the login (folder 0700, file 0600, written whole or not at all); returns the file. */
export function saveLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsFile(env);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(temp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(login, null, 2) + '\n');
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, file);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
  syncFolder(dir);
  return file;
}

/** Forgets the stored login; returns what it was (undefined when there was none). */
export function removeLogin(env: NodeJS.ProcessEnv = process.env): { url?: string; file: string } | undefined {
  const file = credentialsFile(env);
  let url: string | undefined;
  try {
    url = (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StoredLogin>).url;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    // a damaged file is removed all the same
  }
  fs.rmSync(file, { force: true });
  syncFolder(path.dirname(file));
  return { url: typeof url === 'string' ? url : undefined, file };
}

function syncFolder(dir: string): void {
  if (process.platform === 'win32') {
    return;
  }
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
