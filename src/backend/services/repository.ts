import { randomUUID } from 'crypto';
import { serviceWarnings } from '../../protocol/container-warnings';
import type { Service, ServiceReplicas, ServiceSpec, ServiceStatus } from '../../protocol/containers';
import { checkName } from '../../protocol/names';
import { findByName, getByNameOrId, nameTaken } from '../common/named';
import { ApiError } from '../errors';
import type { ProjectOwned } from '../projects/repository';
import type { Row, Store, WriteTx } from '../store/database';
import { dockerRunCommand } from './docker-run';

export type ServiceChanges = Partial<Pick<Service, 'status' | 'exitCode' | 'reason' | 'containerId' | 'restartCount'>>;

const COLUMNS: Record<Exclude<keyof ServiceChanges, 'restartCount'>, string> = {
  status: 'status',
  exitCode: 'exit_code',
  reason: 'reason',
  containerId: 'container_id',
};

function toService(row: Row, restartCount: number, replicaStatus: ServiceReplicas | undefined): Service {
  const spec = JSON.parse(String(row.spec)) as ServiceSpec;
  return {
    ...spec,
    id: String(row.id),
    projectId: String(row.project_id),
    createdAt: String(row.created_at),
    status: String(row.status) as ServiceStatus,
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    reason: row.reason === null ? null : String(row.reason),
    containerId: row.container_id === null ? null : String(row.container_id),
    dockerRun: dockerRunCommand(spec),
    restartCount,
    warnings: serviceWarnings(spec),
    ...(replicaStatus ? { replicaStatus } : {}),
  };
}

/** Deployed services in the metadata store. */
export class ServiceRepository implements ProjectOwned {
  /**
   * Restarts of each service's container by the engine. Not stored: the engine keeps the count with
   * the container, and the backend reads it again when it reconciles after a restart.
   */
  private readonly restartCounts = new Map<string, number>();
  /** Replicas of services on a cluster: not stored either, the engine reports them each time it is asked. */
  private readonly replicaStatuses = new Map<string, ServiceReplicas>();

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  list(projectId: string): Service[] {
    return this.store
      .all('SELECT * FROM services WHERE project_id = ? ORDER BY name COLLATE NOCASE', [projectId])
      .map((r) => this.toService(r));
  }

  all(): Service[] {
    return this.store.all('SELECT * FROM services').map((r) => this.toService(r));
  }

  /** A service by name (case-insensitive) or id. */
  get(projectId: string, nameOrId: string): Service {
    return this.toService(getByNameOrId(this.store, 'services', projectId, nameOrId));
  }

  byId(id: string): Service | undefined {
    const row = this.store.get('SELECT * FROM services WHERE id = ?', [id]);
    return row ? this.toService(row) : undefined;
  }

  async insert(projectId: string, spec: ServiceSpec): Promise<Service> {
    const problem = checkName('service', spec.name);
    if (problem) {
      throw new ApiError(400, 'invalid_name', problem);
    }
    const id = randomUUID();
    await this.store.write((tx) => {
      if (findByName(tx, 'services', projectId, spec.name)) {
        throw nameTaken('services', spec.name);
      }
      tx.run(
        `INSERT INTO services (id, project_id, name, spec, created_at, status) VALUES (?, ?, ?, ?, ?, 'starting')`,
        [id, projectId, spec.name, JSON.stringify(spec), this.now().toISOString()],
      );
    });
    return this.byId(id)!;
  }

  private toService(row: Row): Service {
    const id = String(row.id);
    return toService(row, this.restartCounts.get(id) ?? 0, this.replicaStatuses.get(id));
  }

  /** What the cluster reports of a service's replicas now. */
  setReplicaStatus(id: string, status: ServiceReplicas): void {
    this.replicaStatuses.set(id, status);
  }

  /** Changes what a service runs (its scale, its image after a rolling update), keeping the rest of its spec. */
  async updateSpec(id: string, changes: Partial<ServiceSpec>): Promise<Service | undefined> {
    const current = this.byId(id);
    if (!current) {
      return undefined;
    }
    const {
      name,
      image,
      command,
      env,
      ports,
      volumes,
      restart,
      healthPath,
      user,
      target,
      replicas,
      publishMode,
      endpointPort,
    } = { ...current, ...changes };
    const spec: ServiceSpec = {
      name,
      image,
      command,
      env,
      ports,
      volumes,
      restart,
      healthPath,
      ...(user !== undefined ? { user } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(replicas !== undefined ? { replicas } : {}),
      ...(publishMode !== undefined ? { publishMode } : {}),
      ...(endpointPort !== undefined ? { endpointPort } : {}),
    };
    await this.store.write((tx) => tx.run('UPDATE services SET spec = ? WHERE id = ?', [JSON.stringify(spec), id]));
    return this.byId(id);
  }

  async update(id: string, changes: ServiceChanges): Promise<Service | undefined> {
    const { restartCount, ...stored } = changes;
    if (restartCount !== undefined) {
      this.restartCounts.set(id, restartCount);
    }
    const entries = Object.entries(stored) as [keyof typeof COLUMNS, string | number | null][];
    if (entries.length > 0) {
      await this.store.write((tx) =>
        tx.run(`UPDATE services SET ${entries.map(([k]) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`, [
          ...entries.map(([, v]) => v),
          id,
        ]),
      );
    }
    return this.byId(id);
  }

  async delete(id: string): Promise<void> {
    this.restartCounts.delete(id);
    this.replicaStatuses.delete(id);
    await this.store.write((tx) => tx.run('DELETE FROM services WHERE id = ?', [id]));
  }

  counts(projectId: string): Record<string, number> {
    const row = this.store.get('SELECT COUNT(*) AS n FROM services WHERE project_id = ?', [projectId]);
    const n = Number(row?.n ?? 0);
    // only when there are some: most projects have none, and the delete prompt stays short
    return n > 0 ? { services: n } : {};
  }

  deleteAll(tx: WriteTx, projectId: string): () => void {
    tx.run('DELETE FROM services WHERE project_id = ?', [projectId]);
    return () => undefined;
  }
}
