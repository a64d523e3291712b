import type { Target, TargetKind, TargetTls } from '../../protocol/targets';
import { LOCAL_TARGET } from '../../protocol/targets';
import { ApiError } from '../errors';
import type { Row, Store } from '../store/database';

/** A target's name: a word people type in a terminal ("gpu-box", "swarm.eu"), as Docker names contexts. */
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What to add: a target as the lab stores it, before its creation time. */
export type NewTarget = Omit<Target, 'createdAt'>;

/** The built-in target: the lab machine's own engine, configured by its settings, never stored. */
export function localTarget(): Target {
  return { name: LOCAL_TARGET, kind: 'docker', dockerHost: null, tls: null, registry: null, createdAt: '' };
}

/** A sentence saying what is wrong with a target name, or undefined when it is valid. */
export function checkTargetName(name: string): string | undefined {
  if (!TARGET_NAME.test(name)) {
    return `The target name "${name}" is not allowed: use 1 to 64 letters, digits, ".", "-" and "_", starting with a letter or digit.`;
  }
  if (name.toLowerCase() === LOCAL_TARGET) {
    return `"${LOCAL_TARGET}" is the lab machine's own Docker Engine, always there: give the new target another name.`;
  }
  return undefined;
}

const text = (v: Row[string] | undefined) => (v === null || v === undefined ? null : String(v));

function toTarget(row: Row): Target {
  const tls: TargetTls = { caFile: text(row.tls_ca), certFile: text(row.tls_cert), keyFile: text(row.tls_key) };
  return {
    name: String(row.name),
    kind: String(row.kind) as TargetKind,
    dockerHost: String(row.docker_host),
    tls: tls.caFile || tls.certFile || tls.keyFile ? tls : null,
    registry: text(row.registry),
    createdAt: String(row.created_at),
  };
}

export const unknownTarget = (name: string) =>
  new ApiError(404, 'target_not_found', `No target is called "${name}": list them with "mllab target list".`);

/** The targets of a lab home and each project's default target, in the metadata store. */
export class TargetRepository {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `local` first, then the added targets by name. */
  list(): Target[] {
    return [localTarget(), ...this.store.all('SELECT * FROM targets ORDER BY name COLLATE NOCASE').map(toTarget)];
  }

  /** A target by name (case-insensitive), `local` included. */
  find(name: string): Target | undefined {
    if (name.toLowerCase() === LOCAL_TARGET) {
      return localTarget();
    }
    const row = this.store.get('SELECT * FROM targets WHERE name = ? COLLATE NOCASE', [name]);
    return row ? toTarget(row) : undefined;
  }

  get(name: string): Target {
    const target = this.find(name);
    if (!target) {
      throw unknownTarget(name);
    }
    return target;
  }

  async insert(target: NewTarget): Promise<Target> {
    const problem = checkTargetName(target.name);
    if (problem) {
      throw new ApiError(400, 'invalid_name', problem);
    }
    if (!target.dockerHost) {
      throw new ApiError(
        400,
        'docker_host_missing',
        'A target needs its Docker host: give --docker-host tcp://HOST:2376 or ssh://USER@HOST.',
      );
    }
    const createdAt = this.now().toISOString();
    await this.store.write((tx) => {
      if (tx.get('SELECT name FROM targets WHERE name = ? COLLATE NOCASE', [target.name])) {
        throw new ApiError(
          409,
          'target_exists',
          `A target called "${target.name}" exists already: remove it first ("mllab target rm ${target.name}") or pick another name.`,
        );
      }
      tx.run(
        `INSERT INTO targets (name, kind, docker_host, tls_ca, tls_cert, tls_key, registry, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          target.name,
          target.kind,
          target.dockerHost,
          target.tls?.caFile ?? null,
          target.tls?.certFile ?? null,
          target.tls?.keyFile ?? null,
          target.registry,
          createdAt,
        ],
      );
    });
    return { ...target, createdAt };
  }

  /**
   * Removes a target; the projects that had it as their default go back to `local` in the same
   * transaction. `using` says what still runs there (refused then, nothing removed).
   */
  async remove(name: string, using: () => string[] = () => []): Promise<Target> {
    const target = this.get(name);
    if (target.name === LOCAL_TARGET) {
      throw new ApiError(
        400,
        'target_builtin',
        `"${LOCAL_TARGET}" is the lab machine's own Docker Engine: it cannot be removed.`,
      );
    }
    const users = using();
    await this.store.write((tx) => {
      if (users.length > 0) {
        throw new ApiError(
          409,
          'target_in_use',
          `The target "${target.name}" is in use by ${users.join(', ')}: remove those or move them to another target first.`,
        );
      }
      tx.run('UPDATE projects SET default_target = NULL WHERE default_target = ? COLLATE NOCASE', [target.name]);
      tx.run('DELETE FROM targets WHERE name = ?', [target.name]);
    });
    return target;
  }

  /** The project's default target's name; `local` when it has none. */
  projectTarget(projectId: string): string {
    const row = this.store.get('SELECT default_target FROM projects WHERE id = ?', [projectId]);
    return text(row?.default_target) ?? LOCAL_TARGET;
  }

  /** Sets the project's default target (`local` stores none); the target must exist. */
  async setProjectTarget(projectId: string, name: string): Promise<Target> {
    const target = this.get(name);
    await this.store.write((tx) => {
      tx.run('UPDATE projects SET default_target = ? WHERE id = ?', [
        target.name === LOCAL_TARGET ? null : target.name,
        projectId,
      ]);
    });
    return target;
  }

  /** The names of the projects whose default target this is. */
  projectsDefaultingTo(name: string): string[] {
    return this.store
      .all('SELECT name FROM projects WHERE default_target = ? COLLATE NOCASE ORDER BY name', [name])
      .map((r) => String(r.name));
  }
}
