import { randomUUID } from 'crypto';
import type { Dataset, DatasetVersion } from '../../protocol/datasets';
import { checkName } from '../../protocol/names';
import { takeNextVersion } from '../common/versions';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { BlobStore } from '../files/blob-store';
import { blobReferenced, projectsReferring } from '../files/references';
import type { ProjectOwned } from '../projects/repository';
import type { Row, Store, WriteTx } from '../store/database';

/** What an add produced, before it gets its version number. */
export type NewVersion = Omit<
  DatasetVersion,
  'id' | 'datasetId' | 'projectId' | 'name' | 'version' | 'createdAt' | 'path'
>;

const VERSION_COLUMNS = `v.*, d.name AS dataset_name, d.project_id AS project_id`;

/**
 * Datasets and their versions in the metadata store; content lives in the BlobStore. A version
 * added or deleted is published on `events`.
 */
export class DatasetRepository implements ProjectOwned {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly events: EventBus,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private toVersion(row: Row): DatasetVersion {
    return {
      id: String(row.id),
      datasetId: String(row.dataset_id),
      projectId: String(row.project_id),
      name: String(row.dataset_name),
      version: Number(row.version),
      sha256: String(row.sha256),
      size: Number(row.size),
      mediaType: String(row.media_type),
      kind: row.kind === 'package' ? 'package' : 'file',
      fileCount: row.file_count === null ? null : Number(row.file_count),
      unpackedSize: row.unpacked_size === null ? null : Number(row.unpacked_size),
      fileName: String(row.file_name),
      sourcePath: String(row.source_path),
      createdAt: String(row.created_at),
      operator: String(row.operator),
      description: String(row.description),
      tags: JSON.parse(String(row.tags)) as string[],
      path: this.blobs.pathOf(String(row.sha256)),
    };
  }

  /** The project's datasets that have at least one version, by name, versions ascending. */
  list(projectId: string): Dataset[] {
    const versions = this.store
      .all(
        `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
         WHERE d.project_id = ? ORDER BY d.name COLLATE NOCASE, v.version`,
        [projectId],
      )
      .map((r) => this.toVersion(r));
    const datasets = new Map<string, Dataset & { versions: DatasetVersion[] }>();
    for (const v of versions) {
      let d = datasets.get(v.datasetId);
      if (!d) {
        const row = this.store.get('SELECT created_at FROM datasets WHERE id = ?', [v.datasetId])!;
        d = { id: v.datasetId, projectId, name: v.name, createdAt: String(row.created_at), versions: [] };
        datasets.set(v.datasetId, d);
      }
      d.versions.push(v);
    }
    return [...datasets.values()];
  }

  /** A version by dataset name (case-insensitive) and number, or the latest. */
  get(projectId: string, name: string, version: number | 'latest'): DatasetVersion {
    const row = this.store.get(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
       WHERE d.project_id = ? AND d.name = ? COLLATE NOCASE ${version === 'latest' ? '' : 'AND v.version = ?'}
       ORDER BY v.version DESC LIMIT 1`,
      version === 'latest' ? [projectId, name] : [projectId, name, version],
    );
    if (!row) {
      const exists = this.store.get('SELECT id FROM datasets WHERE project_id = ? AND name = ? COLLATE NOCASE', [
        projectId,
        name,
      ]);
      throw new ApiError(
        404,
        'not_found',
        exists && version !== 'latest'
          ? `Dataset "${name}" has no version ${version}: list its versions with "mllab dataset list".`
          : `No dataset called "${name}" in this project: list them with "mllab dataset list".`,
      );
    }
    return this.toVersion(row);
  }

  /** Records a stored blob as the next version of `name` (creating the dataset on first use). */
  async addVersion(projectId: string, name: string, v: NewVersion): Promise<DatasetVersion> {
    const problem = checkName('dataset', name);
    if (problem) {
      throw new ApiError(400, 'invalid_name', problem);
    }
    const createdAt = this.now().toISOString();
    const id = randomUUID();
    await this.store.write((tx) => {
      const dataset = takeNextVersion(tx, 'datasets', projectId, name, createdAt);
      tx.run(
        `INSERT INTO dataset_versions (id, dataset_id, version, sha256, size, media_type, kind, file_count,
           unpacked_size, file_name, source_path, created_at, operator, description, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          dataset.id,
          dataset.version,
          v.sha256,
          v.size,
          v.mediaType,
          v.kind,
          v.fileCount,
          v.unpackedSize,
          v.fileName,
          v.sourcePath,
          createdAt,
          v.operator,
          v.description,
          JSON.stringify(v.tags),
        ],
      );
    });
    const version = this.toVersion(
      this.store.get(
        `SELECT ${VERSION_COLUMNS} FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = ?`,
        [id],
      )!,
    );
    this.events.publish({ type: 'datasetVersionAdded', version });
    return version;
  }

  /** Deletes a version; its blob goes too when no other version shares the content. */
  async deleteVersion(version: DatasetVersion): Promise<void> {
    await this.store.write((tx) => tx.run('DELETE FROM dataset_versions WHERE id = ?', [version.id]));
    this.collect([version.sha256]);
    this.events.publish({
      type: 'datasetVersionDeleted',
      projectId: version.projectId,
      name: version.name,
      version: version.version,
    });
  }

  /** Deletes every dataset of a project inside its delete transaction; the blobs go once it is committed. */
  deleteAll(tx: WriteTx, projectId: string): () => void {
    const shas = tx
      .all(
        'SELECT DISTINCT v.sha256 FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE d.project_id = ?',
        [projectId],
      )
      .map((r) => String(r.sha256));
    tx.run('DELETE FROM dataset_versions WHERE dataset_id IN (SELECT id FROM datasets WHERE project_id = ?)', [
      projectId,
    ]);
    tx.run('DELETE FROM datasets WHERE project_id = ?', [projectId]);
    return () => this.collect(shas);
  }

  /** Counts for "what deleting this project removes". */
  counts(projectId: string): Record<string, number> {
    const row = this.store.get(
      `SELECT COUNT(DISTINCT d.id) AS datasets, COUNT(v.id) AS versions
       FROM datasets d JOIN dataset_versions v ON v.dataset_id = d.id WHERE d.project_id = ?`,
      [projectId],
    );
    return { datasets: Number(row?.datasets ?? 0), 'dataset versions': Number(row?.versions ?? 0) };
  }

  /** The projects whose dataset or model versions hold the content `sha256` (who may learn the lab holds it). */
  projectsHolding(sha256: string): string[] {
    return projectsReferring(this.store, sha256);
  }

  /**
   * Removes blobs that no record references any more (after deletes; at start for crash leftovers).
   * Every kind that stores blobs is listed in files/references.ts.
   */
  collect(candidates: readonly string[] = this.blobs.list()): number {
    let removed = 0;
    for (const sha of candidates) {
      if (!blobReferenced(this.store, sha)) {
        this.blobs.remove(sha);
        removed++;
      }
    }
    return removed;
  }
}
