import { randomUUID } from 'crypto';
import type { Model, ModelVersion } from '../../protocol/models';
import { checkName } from '../../protocol/names';
import { takeNextVersion } from '../common/versions';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { BlobStore } from '../files/blob-store';
import { blobReferenced } from '../files/references';
import type { ProjectOwned } from '../projects/repository';
import type { Row, Store, WriteTx } from '../store/database';

/** What a registration stored, before it gets its version number. */
export interface NewModelVersion {
  readonly sha256: string;
  readonly size: number;
  readonly fileName: string;
  readonly sourcePath: string;
  readonly entryPoint: string | null;
  readonly experimentId: string | null;
  readonly operator: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** makes a registration idempotent (a run's `model` event: run id + byte offset) */
  readonly sourceKey?: string;
}

const VERSION_COLUMNS = 'v.*, m.name AS model_name, m.project_id AS project_id';
const ALIAS = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** "Production" -> "production", refusing what could be read as a version ("v2", "latest"). */
export function checkAlias(alias: string): string {
  const a = alias.toLowerCase();
  if (!ALIAS.test(alias) || a === 'latest' || /^v[0-9]+$/.test(a)) {
    throw new ApiError(
      400,
      'invalid_alias',
      `"${alias}" cannot be an alias: use a word such as "production" or "staging" (letters, digits, ".", "-", "_"; not "latest" or "v2").`,
    );
  }
  return a;
}

/**
 * Models, their versions and aliases in the metadata store; content lives in the BlobStore. Each
 * change is published on `events`: `modelChanged` with the model as it is now, or `modelDeleted`
 * once its last version is gone.
 */
export class ModelRepository implements ProjectOwned {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly events: EventBus,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private toVersion(row: Row, aliases: readonly string[]): ModelVersion {
    return {
      id: String(row.id),
      modelId: String(row.model_id),
      projectId: String(row.project_id),
      name: String(row.model_name),
      version: Number(row.version),
      sha256: String(row.sha256),
      size: Number(row.size),
      fileName: String(row.file_name),
      sourcePath: String(row.source_path),
      entryPoint: row.entry_point === null ? null : String(row.entry_point),
      experimentId: row.experiment_id === null ? null : String(row.experiment_id),
      aliases,
      createdAt: String(row.created_at),
      operator: String(row.operator),
      description: String(row.description),
      tags: JSON.parse(String(row.tags)) as string[],
      path: this.blobs.pathOf(String(row.sha256)),
    };
  }

  /** version id -> its aliases, for the given models */
  private aliasesOf(modelIds: readonly string[]): Map<string, string[]> {
    const byVersion = new Map<string, string[]>();
    if (modelIds.length === 0) {
      return byVersion;
    }
    const rows = this.store.all(
      `SELECT alias, version_id FROM model_aliases WHERE model_id IN (${modelIds.map(() => '?').join(',')}) ORDER BY alias`,
      [...modelIds],
    );
    for (const r of rows) {
      const list = byVersion.get(String(r.version_id)) ?? [];
      list.push(String(r.alias));
      byVersion.set(String(r.version_id), list);
    }
    return byVersion;
  }

  private modelsWhere(where: string, params: (string | number)[]): Model[] {
    const models = this.store.all(`SELECT * FROM models m WHERE ${where} ORDER BY m.name COLLATE NOCASE`, params);
    const ids = models.map((m) => String(m.id));
    const aliases = this.aliasesOf(ids);
    const versions = ids.length
      ? this.store.all(
          `SELECT ${VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.id = v.model_id
           WHERE v.model_id IN (${ids.map(() => '?').join(',')}) ORDER BY v.version`,
          ids,
        )
      : [];
    return models
      .map((m) => {
        const own = versions
          .filter((v) => v.model_id === m.id)
          .map((v) => this.toVersion(v, aliases.get(String(v.id)) ?? []));
        const byAlias: Record<string, number> = {};
        for (const v of own) {
          v.aliases.forEach((a) => (byAlias[a] = v.version));
        }
        return {
          id: String(m.id),
          projectId: String(m.project_id),
          name: String(m.name),
          description: String(m.description),
          tags: JSON.parse(String(m.tags)) as string[],
          createdAt: String(m.created_at),
          aliases: byAlias,
          versions: own,
        };
      })
      .filter((m) => m.versions.length > 0);
  }

  /** The project's models that have at least one version, by name, versions ascending. */
  list(projectId: string): Model[] {
    return this.modelsWhere('m.project_id = ?', [projectId]);
  }

  /** A model by name (case-insensitive); 404 with what to do. */
  get(projectId: string, name: string): Model {
    const model = this.modelsWhere('m.project_id = ? AND m.name = ? COLLATE NOCASE', [projectId, name])[0];
    if (!model) {
      throw new ApiError(
        404,
        'not_found',
        `No model called "${name}" in this project: list them with "mllab model list".`,
      );
    }
    return model;
  }

  byId(modelId: string): Model | undefined {
    return this.modelsWhere('m.id = ?', [modelId])[0];
  }

  /**
   * Publishes the model as it is now (`modelChanged`) and returns it; undefined when it has no
   * version left. Called after each change, and after a deployment (the model's page lists its services).
   */
  announce(modelId: string): Model | undefined {
    const model = this.byId(modelId);
    if (model) {
      this.events.publish({ type: 'modelChanged', model });
    }
    return model;
  }

  /** A version by number, alias or "latest". */
  resolve(projectId: string, name: string, selector: number | string): ModelVersion {
    const model = this.get(projectId, name);
    let version: ModelVersion | undefined;
    if (selector === 'latest') {
      version = model.versions[model.versions.length - 1];
    } else if (typeof selector === 'number' || /^v?[0-9]+$/.test(selector)) {
      const n = typeof selector === 'number' ? selector : Number(selector.replace(/^v/, ''));
      version = model.versions.find((v) => v.version === n);
      if (!version) {
        throw new ApiError(
          404,
          'not_found',
          `Model "${model.name}" has no version ${n}: its versions are ${model.versions.map((v) => `v${v.version}`).join(', ')}.`,
        );
      }
    } else {
      const alias = selector.toLowerCase();
      version = model.versions.find((v) => v.aliases.includes(alias));
      if (!version) {
        const known = Object.keys(model.aliases);
        throw new ApiError(
          404,
          'not_found',
          `Model "${model.name}" has no alias "${selector}"` +
            (known.length
              ? `: its aliases are ${known.join(', ')}.`
              : `: set one with "mllab model alias ${model.name}:vN ${selector}".`),
        );
      }
    }
    return version;
  }

  /**
   * Records a stored blob as the next version of `name` (creating the model on first use). With a
   * `sourceKey` that was registered before, the existing version is returned and nothing changes.
   */
  async addVersion(
    projectId: string,
    name: string,
    v: NewModelVersion,
  ): Promise<{ version: ModelVersion; added: boolean }> {
    const problem = checkName('model', name);
    if (problem) {
      throw new ApiError(400, 'invalid_name', problem);
    }
    const existing = v.sourceKey ? this.bySourceKey(v.sourceKey) : undefined;
    if (existing) {
      return { version: existing, added: false };
    }
    const createdAt = this.now().toISOString();
    const id = randomUUID();
    await this.store.write((tx) => {
      const model = takeNextVersion(tx, 'models', projectId, name, createdAt);
      tx.run(
        `INSERT INTO model_versions (id, model_id, version, sha256, size, file_name, source_path, entry_point,
           experiment_id, source_key, created_at, operator, description, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          model.id,
          model.version,
          v.sha256,
          v.size,
          v.fileName,
          v.sourcePath,
          v.entryPoint,
          v.experimentId,
          v.sourceKey ?? null,
          createdAt,
          v.operator,
          v.description,
          JSON.stringify(v.tags),
        ],
      );
    });
    const version = this.byVersionId(id)!;
    this.announce(version.modelId);
    return { version, added: true };
  }

  private versionWhere(where: string, params: string[]): ModelVersion | undefined {
    const row = this.store.get(
      `SELECT ${VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.id = v.model_id WHERE ${where}`,
      params,
    );
    return row ? this.toVersion(row, this.aliasesOf([String(row.model_id)]).get(String(row.id)) ?? []) : undefined;
  }

  byVersionId(id: string): ModelVersion | undefined {
    return this.versionWhere('v.id = ?', [id]);
  }

  bySourceKey(key: string): ModelVersion | undefined {
    return this.versionWhere('v.source_key = ?', [key]);
  }

  /** Points `alias` at a version of the model, moving it from the version that had it. */
  async setAlias(model: Model, alias: string, versionNumber: number): Promise<Model> {
    const name = checkAlias(alias);
    const version = this.resolve(model.projectId, model.name, versionNumber);
    await this.store.write((tx) =>
      tx.run(
        `INSERT INTO model_aliases (model_id, alias, version_id) VALUES (?, ?, ?)
         ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id`,
        [model.id, name, version.id],
      ),
    );
    return this.announce(model.id)!;
  }

  async removeAlias(model: Model, alias: string): Promise<Model> {
    const name = alias.toLowerCase();
    if (!(name in model.aliases)) {
      throw new ApiError(404, 'not_found', `Model "${model.name}" has no alias "${alias}": nothing to remove.`);
    }
    await this.store.write((tx) =>
      tx.run('DELETE FROM model_aliases WHERE model_id = ? AND alias = ?', [model.id, name]),
    );
    return this.announce(model.id)!;
  }

  async update(model: Model, changes: { description?: string; tags?: readonly string[] }): Promise<Model> {
    await this.store.write((tx) =>
      tx.run('UPDATE models SET description = ?, tags = ? WHERE id = ?', [
        changes.description ?? model.description,
        JSON.stringify(changes.tags ?? model.tags),
        model.id,
      ]),
    );
    return this.announce(model.id)!;
  }

  /**
   * Deletes a version and the aliases on it; its blob goes too when nothing else shares the content.
   * A model left without versions is no longer listed: that is published as `modelDeleted`.
   */
  async deleteVersion(version: ModelVersion): Promise<void> {
    await this.store.write((tx) => {
      tx.run('DELETE FROM model_aliases WHERE version_id = ?', [version.id]);
      tx.run('DELETE FROM model_versions WHERE id = ?', [version.id]);
    });
    this.collect([version.sha256]);
    if (!this.announce(version.modelId)) {
      const { projectId, modelId, name } = version;
      this.events.publish({ type: 'modelDeleted', projectId, modelId, name });
    }
  }

  deleteAll(tx: WriteTx, projectId: string): () => void {
    const shas = tx
      .all('SELECT DISTINCT v.sha256 FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.project_id = ?', [
        projectId,
      ])
      .map((r) => String(r.sha256));
    const inProject = 'SELECT id FROM models WHERE project_id = ?';
    tx.run(`DELETE FROM model_aliases WHERE model_id IN (${inProject})`, [projectId]);
    tx.run(`DELETE FROM model_versions WHERE model_id IN (${inProject})`, [projectId]);
    tx.run('DELETE FROM models WHERE project_id = ?', [projectId]);
    return () => this.collect(shas);
  }

  counts(projectId: string): Record<string, number> {
    const row = this.store.get(
      `SELECT COUNT(DISTINCT m.id) AS models, COUNT(v.id) AS versions
       FROM models m JOIN model_versions v ON v.model_id = m.id WHERE m.project_id = ?`,
      [projectId],
    );
    const versions = Number(row?.versions ?? 0);
    // only when there are some: the delete prompt stays short
    return versions > 0 ? { models: Number(row?.models ?? 0), 'model versions': versions } : {};
  }

  /** Removes the given blobs when no record refers to them any more. */
  collect(candidates: readonly string[]): number {
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
