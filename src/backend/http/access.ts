import * as fs from 'fs';
import * as path from 'path';
import type { Role } from '../../protocol/users';
import { OWNER, ROLES } from '../../protocol/users';

/** Who sent a request: the lab's owner (the registration file's token, an admin) or a user. */
export interface Identity {
  /** the user's name, or "owner" */
  readonly name: string;
  readonly role: Role;
}

export const OWNER_IDENTITY: Identity = { name: OWNER, role: 'admin' };

/** the routes that manage who may use the lab, and stopping it: admin only */
const ADMIN_PATHS = /^\/api\/(users|tokens|shutdown)(\/|$)/;

/**
 * The role a request needs: reading (GET, HEAD, the event stream) a viewer's, managing users and
 * tokens (or stopping the lab) an admin's, any other change a member's. `url` is the matched route's
 * pattern when there is one, so an encoded path cannot pass for another.
 */
export function neededRole(method: string, url: string): Role {
  if (ADMIN_PATHS.test(url)) {
    return 'admin';
  }
  return method === 'GET' || method === 'HEAD' ? 'viewer' : 'member';
}

export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** A line of the audit log: a request that may have changed something (never its body or token). */
export interface AuditEntry {
  readonly time: string;
  /** the user's name, "owner", or null when the token was refused */
  readonly who: string | null;
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** `<home>/logs/audit.jsonl`: one JSON line per request that is not a read, appended (0600). */
export class AuditLog {
  private fd: number | undefined;

  constructor(readonly file: string) {}

  append(entry: AuditEntry): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(this.file, 'a', 0o600);
    }
    fs.writeSync(this.fd, JSON.stringify(entry) + '\n');
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
