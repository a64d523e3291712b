import * as fs from 'fs';
import * as path from 'path';
import type { BackendEvent } from '../../protocol/api';
import type { Role } from '../../protocol/users';
import { OWNER, ROLES } from '../../protocol/users';
import type { ProjectNeed, ProjectScope } from './project-scopes';

/** Who sent a request: the lab's owner (the registration file's token, an admin) or a user. */
export interface Identity {
  /** the user's name, or "owner" */
  readonly name: string;
  readonly role: Role;
}

export const OWNER_IDENTITY: Identity = { name: OWNER, role: 'admin' };

/**
 * the routes that manage who may use the lab, stopping it, and the containers no project owns any more
 * (listing them shows every project's, removing them stops what may still serve someone): admin only
 */
const ADMIN_PATHS = /^\/api\/(users|tokens|shutdown|containers\/orphans)(\/|$)/;
/** MLflow's reads that its clients send as POST (searches, latest versions): a viewer's, as a GET is */
const MLFLOW_POST_READS =
  /^\/(ajax-)?api\/2\.0\/mlflow\/(runs|experiments|registered-models|model-versions)\/(search|get-latest-versions)$/;

/**
 * The role a request needs: reading (GET, HEAD, the event stream) a viewer's, managing users and
 * tokens (or stopping the lab, or the orphan containers) an admin's, any other change a member's. `url` is the matched route's
 * pattern when there is one, so an encoded path cannot pass for another.
 */
export function neededRole(method: string, url: string): Role {
  if (ADMIN_PATHS.test(url)) {
    return 'admin';
  }
  return method === 'GET' || method === 'HEAD' || (method === 'POST' && MLFLOW_POST_READS.test(url))
    ? 'viewer'
    : 'member';
}

export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** The parts of a request a project rule reads (after validation); a rule may pin the project it found. */
export interface ScopedRequest {
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
}

export type ProjectRule = Extract<ProjectScope, { about: 'project' }>;
export type AnswerRule = Extract<ProjectScope, { about: 'answer' }>['answer'];

/**
 * Per-project roles (src/backend/users/project-access.ts), asked by `register` for each route by its
 * rule in project-scopes.ts and by the event stream for each event. A refusal throws an ApiError:
 * 404 as if the project did not exist when the user cannot read it, else 403 naming the role needed.
 */
export interface ProjectGate {
  /** checks the role the request needs in its project (lab admins pass) */
  check(identity: Identity, rule: ProjectRule, request: ScopedRequest): void;
  /** checks a project named inside a body that `check` could not read (a run's manifest); null: the active one */
  checkNamed(identity: Identity, idOrName: string | null, need: ProjectNeed): void;
  /** the answer of a route about projects in general, as this user may see it */
  answer(identity: Identity, rule: AnswerRule, answer: unknown): Promise<unknown>;
  /** whether the event stream of this user carries the event */
  sees(identity: Identity, event: BackendEvent): boolean;
}

/** A line of the audit log: a request that may have changed something (never its body or token). */
export interface AuditEntry {
  readonly time: string;
  /** the user's name, "owner", or null when the token was refused */
  readonly who: string | null;
  /**
   * the client's address: the connection's peer, or, behind a reverse proxy named by `--trust-proxy`,
   * the client that proxy names in X-Forwarded-For
   */
  readonly from: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** The audit log is rotated past this size (`audit.jsonl` -> `audit.1.jsonl` ...) ... */
export const AUDIT_ROTATE_BYTES = 64 * 1024 * 1024;
/** ... and this many rotated files are kept (the oldest goes). */
export const AUDIT_KEEP = 5;

/**
 * `<home>/logs/audit.jsonl`: one JSON line per request that is not a read, appended (0600). Past
 * `rotateBytes` it becomes `audit.1.jsonl` (the older ones move up to `audit.<keep>.jsonl`, the oldest
 * is removed) and a new one starts: a lab used for years keeps a bounded history.
 */
export class AuditLog {
  private fd: number | undefined;
  private size = 0;

  constructor(
    readonly file: string,
    private readonly rotateBytes = AUDIT_ROTATE_BYTES,
    private readonly keep = AUDIT_KEEP,
  ) {}

  append(entry: AuditEntry): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(this.file, 'a', 0o600);
      this.size = fs.fstatSync(this.fd).size;
    }
    const line = Buffer.from(JSON.stringify(entry) + '\n');
    fs.writeSync(this.fd, line);
    this.size += line.length;
    if (this.size >= this.rotateBytes) {
      this.rotate();
    }
  }

  /** The rotated file `n` (1 = the newest). */
  rotated(n: number): string {
    return this.file.replace(/(\.jsonl)?$/, `.${n}.jsonl`);
  }

  private rotate(): void {
    this.close();
    fs.rmSync(this.rotated(this.keep), { force: true });
    for (let n = this.keep - 1; n >= 1; n--) {
      if (fs.existsSync(this.rotated(n))) {
        fs.renameSync(this.rotated(n), this.rotated(n + 1));
      }
    }
    fs.renameSync(this.file, this.rotated(1));
  }

  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
