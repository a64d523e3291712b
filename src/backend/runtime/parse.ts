import * as path from 'path';
import type { PortMapping, VolumeMapping } from '../../protocol/containers';
import { ApiError } from '../errors';

const bad = (code: string, message: string) => new ApiError(400, code, message);

/**
 * Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest], lower-case path
 * components separated by / with ., _, __ or - inside.
 */
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function checkImage(image: string): string {
  if (!IMAGE.test(image) || image.length > 255) {
    throw bad(
      'invalid_image',
      `"${image}" is not a valid image name: use lower-case names such as "python:3.12-slim" or "registry.local:5000/team/model:v2".`,
    );
  }
  return image;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** KEY=VALUE strings or a map -> a map, checking the keys. */
export function parseEnv(
  env: readonly string[] | Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const pairs: [string, string][] = [];
  if (Array.isArray(env)) {
    for (const item of env as readonly string[]) {
      const eq = item.indexOf('=');
      if (eq <= 0) {
        throw bad('invalid_env', `The environment variable "${item}" lacks "=": write it as KEY=VALUE.`);
      }
      pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
    }
  } else if (env) {
    pairs.push(...Object.entries(env as Record<string, string>));
  }
  for (const [key, value] of pairs) {
    if (!ENV_KEY.test(key)) {
      throw bad(
        'invalid_env',
        `"${key}" is not a valid environment variable name: use letters, digits and "_", not starting with a digit.`,
      );
    }
    if (typeof value !== 'string') {
      throw bad('invalid_env', `The value of ${key} must be a string.`);
    }
  }
  return Object.fromEntries(pairs);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** 536870912, "512m", "2g", "1.5GiB" -> bytes; null stays null. */
export function parseMemory(memory: number | string | null | undefined): number | null {
  if (memory === null || memory === undefined) {
    return null;
  }
  const m = typeof memory === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(memory);
  const bytes = typeof memory === 'number' ? memory : m ? Number(m[1]) * UNITS[m[2].toLowerCase()] : NaN;
  // Docker refuses less than 6 MiB
  if (!Number.isFinite(bytes) || bytes < 6 * 1024 ** 2) {
    throw bad(
      'invalid_memory',
      `The memory limit "${memory}" is not valid: write a size of at least 6m, e.g. 512m or 2g.`,
    );
  }
  return Math.round(bytes);
}

function portNumber(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw bad('invalid_port', `The ${what} port in "${spec}" must be a number from 1 to 65535.`);
  }
  return n;
}

/** "8080:80" or "0.0.0.0:8080:80" -> a mapping; published on 127.0.0.1 unless an address is given. */
export function parsePort(spec: string | PortMapping): PortMapping {
  if (typeof spec !== 'string') {
    return {
      hostIp: spec.hostIp || '127.0.0.1',
      hostPort: portNumber(String(spec.hostPort), 'host', JSON.stringify(spec)),
      containerPort: portNumber(String(spec.containerPort), 'container', JSON.stringify(spec)),
    };
  }
  const parts = spec.replace(/\/tcp$/, '').split(':');
  if (parts.length < 2 || parts.length > 3) {
    throw bad('invalid_port', `The port "${spec}" is not HOST:CONTAINER (e.g. 8080:80): write both numbers.`);
  }
  const [ip, host, container] = parts.length === 3 ? parts : ['127.0.0.1', ...parts];
  return {
    hostIp: ip,
    hostPort: portNumber(host, 'host', spec),
    containerPort: portNumber(container, 'container', spec),
  };
}

/** "/data:/data:ro" -> a mapping; the host path must be absolute. */
export function parseVolume(spec: string | VolumeMapping): VolumeMapping {
  const v =
    typeof spec === 'string'
      ? (() => {
          const [hostPath, containerPath, mode] = spec.split(':');
          if (!hostPath || !containerPath || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
            throw bad('invalid_volume', `The volume "${spec}" is not HOST_PATH:CONTAINER_PATH[:ro].`);
          }
          return { hostPath, containerPath, readOnly: mode === 'ro' };
        })()
      : spec;
  if (!path.isAbsolute(v.hostPath) || !v.containerPath.startsWith('/')) {
    throw bad('invalid_volume', `The volume paths must be absolute: "${v.hostPath}" -> "${v.containerPath}".`);
  }
  return v;
}
