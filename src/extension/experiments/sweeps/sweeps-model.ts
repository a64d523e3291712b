import type { ApiClient } from '../../../client/api-client';
import type { BackendEvent } from '../../../protocol/api';
import { sweepRoutes } from '../../../protocol/routes/sweeps';
import type { Sweep, SweepDetails } from '../../../protocol/sweeps';
import type { BackendService } from '../../backend/backend-service';
import { ContextKeys } from '../../common/commands';
import { ProjectScopedModel } from '../../common/project-scoped-model';
import type { ProjectsModel } from '../../projects/projects-model';

/** How many sweeps keep their trials loaded (expanded in the view, or with their page open). */
const WATCHED = 20;

/**
 * The parameter sweeps of the active project, newest first, kept current by `sweepUpdated` events;
 * and the details (trials, history, importances) of the sweeps someone looks at, loaded again with
 * the list whenever such a sweep changed, so the view's trials and the sweep page follow it live.
 */
export class SweepsModel extends ProjectScopedModel<Sweep> {
  /** the sweeps whose details are kept, by id, least recently asked for first */
  private readonly watched = new Map<string, SweepDetails | undefined>();

  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasSweeps);
  }

  /** A sweep of the list by id. */
  get(id: string): Sweep | undefined {
    return this.items.find((s) => s.id === id);
  }

  /** The loaded details of a watched sweep (undefined before `details` loaded them). */
  cached(id: string): SweepDetails | undefined {
    return this.watched.get(id);
  }

  /**
   * A sweep's details, loaded now when they are not kept; from now on they are loaded again with
   * each change of the sweep (a fired `onDidChange` says they are new).
   */
  async details(id: string): Promise<SweepDetails> {
    const kept = this.watched.get(id);
    this.watched.delete(id);
    this.watched.set(id, kept);
    for (const old of this.watched.keys()) {
      if (this.watched.size <= WATCHED) {
        break;
      }
      this.watched.delete(old);
    }
    if (kept) {
      return kept;
    }
    const loaded = await (
      await this.backend.ready()
    ).call(sweepRoutes.get, {
      params: { id },
      query: { project: this.projectId },
    });
    this.keep(loaded);
    return loaded;
  }

  /**
   * Keeps loaded details of a watched sweep, unless newer ones are kept: loads overlap (one per
   * event), and one answered late must not put back what a later one replaced.
   */
  private keep(details: SweepDetails): void {
    const kept = this.watched.get(details.id);
    if (this.watched.has(details.id) && (!kept || kept.updatedAt <= details.updatedAt)) {
      this.watched.set(details.id, details);
    }
  }

  protected async load(client: ApiClient, projectId: string): Promise<readonly Sweep[]> {
    const sweeps = await client.call(sweepRoutes.list, { query: { project: projectId } });
    // the details of watched sweeps that changed, before the list is shown: one redraw for both
    await Promise.all(
      sweeps.map(async (s) => {
        const kept = this.watched.get(s.id);
        if (this.watched.has(s.id) && (!kept || kept.updatedAt !== s.updatedAt || kept.state !== s.state)) {
          const fresh = await client
            .call(sweepRoutes.get, { params: { id: s.id }, query: { project: projectId } })
            .catch(() => undefined); // deleted meanwhile: the next list says so
          if (fresh) {
            this.keep(fresh);
          }
        }
      }),
    );
    return sweeps;
  }

  protected concerns(e: BackendEvent): boolean {
    return e.type === 'sweepUpdated' && this.isShownProject(e.sweep.projectId);
  }
}
