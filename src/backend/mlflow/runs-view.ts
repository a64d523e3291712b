import type { Experiment, ExperimentDetails } from '../../protocol/experiments';
import type { ExperimentRepository } from '../experiments/repository';
import type { Store } from '../store/database';
import { notFoundRun, type MlflowRunWriter } from './run-writer';

/** How long a read waits at most for the ingest to take what this API wrote before it. */
const CATCH_UP_MS = 10_000;
const CATCH_UP_POLL_MS = 5;
/** Runs whose project is remembered (a run never changes project; the oldest are looked up again). */
const KNOWN_PROJECTS = 4096;

/**
 * The lab's runs as MLflow's reads see them: from the store the ingest fills (the experiment list,
 * parsed once per change of the list), after the ingest has taken what the MLflow API wrote (a client
 * that logs then reads finds what it logged).
 */
export class RunsView {
  private readonly parsed = new WeakMap<Buffer, Experiment[]>();
  /** run id -> its project in the store: each log call names its run, and a query costs ~0.4 ms */
  private readonly projects = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly repo: ExperimentRepository,
    private readonly writer: MlflowRunWriter,
  ) {}

  /** The project's runs, newest first (the list is cached by the repository until a run changes). */
  list(projectId: string): Experiment[] {
    const json = this.repo.listJson(projectId);
    let runs = this.parsed.get(json);
    if (!runs) {
      runs = this.repo.list(projectId);
      this.parsed.set(json, runs);
    }
    return runs;
  }

  /** Waits until the ingest took the events this API wrote to `ids` (all runs written: undefined). */
  async caughtUp(ids?: readonly string[]): Promise<void> {
    const deadline = Date.now() + CATCH_UP_MS;
    for (const id of ids ?? [...this.writer.written.keys()]) {
      const target = this.writer.written.get(id);
      if (target === undefined) {
        continue;
      }
      for (;;) {
        // the ingest's position in the run's events.jsonl (the experiments table of the store)
        const row = this.store.get('SELECT events_offset FROM experiments WHERE id = ?', [id]);
        if ((row && Number(row.events_offset) >= target) || Date.now() > deadline) {
          break;
        }
        await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS));
      }
      if (this.writer.written.get(id) === target) {
        this.writer.written.delete(id);
      }
    }
  }

  /** One run with what it recorded, once the ingest took this API's writes; 404 in MLflow's words. */
  async details(id: string): Promise<ExperimentDetails> {
    await this.caughtUp([id]);
    try {
      return this.repo.details(id);
    } catch {
      throw notFoundRun(id);
    }
  }

  /** The project of a run: the store's, else (not ingested yet) the one its run.json names. */
  projectOf(id: string, activeId: () => string | null): string {
    const known = this.projects.get(id);
    if (known !== undefined) {
      return known;
    }
    const row = this.store.get('SELECT project_id FROM experiments WHERE id = ?', [id]);
    if (row) {
      const project = String(row.project_id);
      this.projects.set(id, project);
      if (this.projects.size > KNOWN_PROJECTS) {
        this.projects.delete(this.projects.keys().next().value!);
      }
      return project;
    }
    const named = this.writer.state(id).manifest.project ?? activeId();
    if (named === null) {
      throw notFoundRun(id);
    }
    return named;
  }
}
