import { randomUUID } from 'crypto';
import type { Project, ProjectContents } from '../../protocol/api';
import { checkName } from '../../protocol/names';
import { ApiError, notFound } from '../errors';
import { EventBus } from '../events';
import type { Row, Store, WriteTx } from '../store/database';

const ACTIVE_KEY = 'activeProjectId';

function toProject(row: Row): Project {
  return {
    id: String(row.id),
    name: String(row.name),
    description: String(row.description),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

/** SQLite's NOCASE: only ASCII letters fold. */
function noCase(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function validName(name: string): string {
  const problem = checkName('project', name);
  if (problem) {
    throw new ApiError(400, 'invalid_name', problem);
  }
  return name;
}

/** A kind of record that a project owns (datasets now; experiments, models, jobs later). */
export interface ProjectOwned {
  /** kind -> count, for "what deleting this project removes" */
  counts(projectId: string): Record<string, number>;
  /** Deletes the project's records inside the project's delete transaction; returns work to do once it is committed. */
  deleteAll(tx: WriteTx, projectId: string): () => void;
}

/**
 * Projects and the lab home's active project. Every write resolves only once it is durable, and is
 * then published on `events` (by default a bus nobody follows: a tool that only needs the store).
 * `now` is injected so tests can control time.
 */
export class ProjectRepository {
  /** the projects by id, read once per change of the table: nearly every request resolves one */
  private byId: Map<string, Project> | undefined;

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly owned: readonly ProjectOwned[] = [],
    private readonly now: () => Date = () => new Date(),
  ) {}

  list(): Project[] {
    return this.store.all('SELECT * FROM projects ORDER BY name COLLATE NOCASE').map(toProject);
  }

  get(id: string): Project {
    const project = this.projects().get(id);
    if (!project) {
      throw notFound('project', id);
    }
    return { ...project };
  }

  /** Finds a project by id, or by name (case-insensitive as SQLite's NOCASE) as people type it in a terminal. */
  resolve(idOrName: string): Project {
    const projects = this.projects();
    let project = projects.get(idOrName);
    if (!project) {
      const name = noCase(idOrName);
      project = [...projects.values()].find((p) => noCase(p.name) === name);
    }
    if (!project) {
      throw new ApiError(
        404,
        'not_found',
        `No project is called or has the id "${idOrName}": list them with "mllab project list".`,
      );
    }
    return { ...project };
  }

  /** The project named by id or name, or the active one when none is named. */
  resolveOrActive(idOrName: string | undefined): Project {
    if (idOrName !== undefined) {
      return this.resolve(idOrName);
    }
    const active = this.activeId();
    if (active === null) {
      throw new ApiError(
        400,
        'no_active_project',
        'No project is active: name one (--project NAME) or set one with "mllab project use NAME".',
      );
    }
    return this.get(active);
  }

  contents(id: string): ProjectContents {
    const project = this.get(id);
    return { project, records: Object.assign({}, ...this.owned.map((o) => o.counts(id))) as Record<string, number> };
  }

  /**
   * Creates a project. When no project is active it becomes the active one in the same write, whoever
   * creates it (editor, CLI or API): there is nothing else new work could go into.
   */
  async create(name: string, description = ''): Promise<{ project: Project; becameActive: boolean }> {
    validName(name);
    const time = this.now().toISOString();
    const project: Project = { id: randomUUID(), name, description, createdAt: time, updatedAt: time };
    const becameActive = await this.writeProjects((tx) => {
      this.assertNameFree(name, undefined);
      tx.run('INSERT INTO projects (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
        project.id,
        name,
        description,
        time,
        time,
      ]);
      if (this.activeId() !== null) {
        return false;
      }
      tx.run('INSERT INTO settings (key, value) VALUES (?, ?)', [ACTIVE_KEY, project.id]);
      return true;
    });
    this.events.publish({ type: 'projectCreated', project });
    if (becameActive) {
      this.events.publish({ type: 'activeProjectChanged', projectId: project.id });
    }
    return { project, becameActive };
  }

  async update(id: string, changes: { name?: string; description?: string }): Promise<Project> {
    const current = this.get(id);
    const name = changes.name === undefined ? current.name : validName(changes.name);
    const description = changes.description ?? current.description;
    const updatedAt = this.now().toISOString();
    await this.writeProjects((tx) => {
      this.assertNameFree(name, id);
      tx.run('UPDATE projects SET name = ?, description = ?, updated_at = ? WHERE id = ?', [
        name,
        description,
        updatedAt,
        id,
      ]);
    });
    const project = { ...current, name, description, updatedAt };
    this.events.publish({ type: 'projectUpdated', project });
    return project;
  }

  /** Deletes the project; returns whether it was the active one (which is then cleared). */
  async delete(id: string): Promise<boolean> {
    this.get(id);
    const wasActive = this.activeId() === id;
    const afterCommit = await this.writeProjects((tx) => {
      const cleanups = this.owned.map((o) => o.deleteAll(tx, id));
      tx.run('DELETE FROM projects WHERE id = ?', [id]);
      if (wasActive) {
        tx.run('DELETE FROM settings WHERE key = ?', [ACTIVE_KEY]);
      }
      return cleanups;
    });
    afterCommit.forEach((cleanup) => cleanup());
    this.events.publish({ type: 'projectDeleted', projectId: id });
    if (wasActive) {
      this.events.publish({ type: 'activeProjectChanged', projectId: null });
    }
    return wasActive;
  }

  activeId(): string | null {
    const row = this.store.get('SELECT value FROM settings WHERE key = ?', [ACTIVE_KEY]);
    return row ? String(row.value) : null;
  }

  async setActive(id: string | null): Promise<void> {
    if (id !== null) {
      this.get(id);
    }
    await this.store.write((tx) => {
      if (id === null) {
        tx.run('DELETE FROM settings WHERE key = ?', [ACTIVE_KEY]);
      } else {
        tx.run(
          'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
          [ACTIVE_KEY, id],
        );
      }
    });
    this.events.publish({ type: 'activeProjectChanged', projectId: id });
  }

  /** A write of the projects table: what was read of it is read again (after a rollback too). */
  private async writeProjects<T>(fn: (tx: WriteTx) => T): Promise<T> {
    try {
      return await this.store.write((tx) => {
        this.byId = undefined;
        return fn(tx);
      });
    } finally {
      this.byId = undefined;
    }
  }

  /** The projects table, read when it changed since the last read. */
  private projects(): Map<string, Project> {
    if (!this.byId) {
      this.byId = new Map(
        this.store.all('SELECT * FROM projects').map((row) => {
          const project = toProject(row);
          return [project.id, project];
        }),
      );
    }
    return this.byId;
  }

  private assertNameFree(name: string, exceptId: string | undefined): void {
    const row = this.store.get('SELECT id, name FROM projects WHERE name = ? COLLATE NOCASE', [name]);
    if (row && String(row.id) !== exceptId) {
      const existing = String(row.name);
      const same = existing === name ? '' : ` (names differ only in upper and lower case)`;
      throw new ApiError(
        409,
        'name_taken',
        `A project called "${existing}" already exists${same}: choose another name.`,
      );
    }
  }
}
