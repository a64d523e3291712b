import * as fs from 'fs';
import * as path from 'path';
import { writeJsonAtomic } from '../../common/run-directory/files';
import { MlflowError } from './errors';

/** A registered model MLflow created before its first version (a lab model exists from its first version on). */
export interface PendingModel {
  readonly name: string;
  readonly createdAt: number;
  readonly description: string;
}

interface Marks {
  /** project id -> lower-case name -> a registered model without versions */
  pending: Record<string, Record<string, PendingModel>>;
  /** project id -> lower-case model name -> tag key -> value (MLflow's tags are pairs; the lab's are words) */
  modelTags: Record<string, Record<string, Record<string, string>>>;
  /** lab model version id -> what MLflow gave it: its source URI, tags, description */
  versions: Record<string, { source: string; tags: Record<string, string>; description?: string }>;
}

/** Tags one registered model or version keeps at most. */
const MAX_TAGS = 100;
/** Registered models without a version one project keeps at most (each change rewrites the file). */
const MAX_PENDING = 1000;

/**
 * What MLflow's model registry holds that the lab's models do not: registered models without a
 * version yet, key-value tags, the source URI of each version. Kept in `<home>/mlflow/registry.json`,
 * written whole through a temp file.
 */
export class RegistryMarks {
  private readonly file: string;
  private marks: Marks;

  constructor(home: string) {
    this.file = path.join(home, 'mlflow', 'registry.json');
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<Marks>;
      this.marks = {
        pending: parsed.pending ?? {},
        modelTags: parsed.modelTags ?? {},
        versions: parsed.versions ?? {},
      };
    } catch {
      this.marks = { pending: {}, modelTags: {}, versions: {} };
    }
  }

  private save(change: (m: Marks) => void): void {
    const next = JSON.parse(JSON.stringify(this.marks)) as Marks;
    change(next);
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    writeJsonAtomic(this.file, next);
    this.marks = next;
  }

  pending(projectId: string, name: string): PendingModel | undefined {
    return this.marks.pending[projectId]?.[name.toLowerCase()];
  }

  allPending(projectId: string): PendingModel[] {
    return Object.values(this.marks.pending[projectId] ?? {});
  }

  setPending(projectId: string, model: PendingModel | undefined, name = model?.name ?? ''): void {
    const own = this.marks.pending[projectId] ?? {};
    if (model && own[model.name.toLowerCase()] === undefined && Object.keys(own).length >= MAX_PENDING) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `The project holds ${MAX_PENDING} registered models without a version: register a version of one, or delete some, first.`,
      );
    }
    this.save((m) => {
      const own = (m.pending[projectId] ??= {});
      if (model) {
        own[model.name.toLowerCase()] = model;
      } else {
        delete own[name.toLowerCase()];
      }
    });
  }

  modelTags(projectId: string, name: string): Record<string, string> {
    return this.marks.modelTags[projectId]?.[name.toLowerCase()] ?? {};
  }

  setModelTag(projectId: string, name: string, key: string, value: string | undefined): void {
    const tags = this.modelTags(projectId, name);
    checkTagChange(tags, key, value, `registered model ${name}`);
    this.save((m) => {
      const own = ((m.modelTags[projectId] ??= {})[name.toLowerCase()] ??= {});
      if (value === undefined) {
        delete own[key];
      } else {
        own[key] = value;
      }
    });
  }

  dropModel(projectId: string, name: string, versionIds: readonly string[]): void {
    this.save((m) => {
      delete m.pending[projectId]?.[name.toLowerCase()];
      delete m.modelTags[projectId]?.[name.toLowerCase()];
      versionIds.forEach((id) => delete m.versions[id]);
    });
  }

  version(id: string): { source: string; tags: Record<string, string>; description?: string } | undefined {
    return this.marks.versions[id];
  }

  setVersion(
    id: string,
    change: (v: { source: string; tags: Record<string, string>; description?: string }) => void,
  ): void {
    this.save((m) => {
      const v = (m.versions[id] ??= { source: '', tags: {} });
      change(v);
    });
  }

  setVersionTag(id: string, key: string, value: string | undefined, what: string): void {
    checkTagChange(this.marks.versions[id]?.tags ?? {}, key, value, what);
    this.setVersion(id, (v) => {
      if (value === undefined) {
        delete v.tags[key];
      } else {
        v.tags[key] = value;
      }
    });
  }

  dropVersion(id: string): void {
    this.save((m) => delete m.versions[id]);
  }
}

function checkTagChange(tags: Record<string, string>, key: string, value: string | undefined, what: string): void {
  if (value === undefined && tags[key] === undefined) {
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with key '${key.slice(0, 250)}' on ${what}.`);
  }
  if (value !== undefined && tags[key] === undefined && Object.keys(tags).length >= MAX_TAGS) {
    throw new MlflowError('INVALID_PARAMETER_VALUE', `The ${what} keeps at most ${MAX_TAGS} tags: delete one first.`);
  }
}
