import * as fs from 'fs';
import * as path from 'path';
import type { CreateSweepRequest, Sweep, SweepDetails, SweepState } from '../../protocol/sweeps';
import { privateFolder } from '../../common/home';
import { writeFileAtomic } from '../../common/fsync';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { ProjectOwned } from '../projects/repository';
import type { WriteTx } from '../store/database';
import { ControllerProcess, type LabAddress } from './controller';
import { parseSweepFile } from './definition';
import { sweepPython } from './interpreter';
import type { SweepRecord, SweepRepository } from './repository';
import { readStatus, sweepDetailsOf, sweepDir, sweepOf } from './status';

export interface SweepServiceDeps {
  readonly home: string;
  readonly repo: SweepRepository;
  readonly events: EventBus;
  readonly log: Logger;
  /** the lab's loopback port and own token, once it listens (the controller starts job trials through the API) */
  readonly lab?: () => LabAddress;
}

/** Controllers that exit unexpectedly this many times within RESTART_WINDOW_MS fail the sweep. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;
/** exit code of a controller that found another one holding the sweep's lock (it is ending: try again soon) */
const LOCK_HELD = 4;

/**
 * Creates sweeps, keeps one controller process per active sweep (started again with the backend, so
 * a sweep goes on after a restart) and tells it what a person asked through `control.json`:
 * `running`, `paused` or `stopped`, and how many trials. The trials themselves are the controller's.
 */
export class SweepService implements ProjectOwned {
  private readonly controllers = new Map<string, ControllerProcess>();
  private readonly restarts = new Map<string, number[]>();
  private closed = false;

  constructor(private readonly deps: SweepServiceDeps) {}

  /** At the backend's start: the sweeps that were running or paused get their controller again. */
  start(): void {
    for (const record of this.deps.repo.active()) {
      this.launch(record);
    }
  }

  /** whether a controller runs: the backend does not stop for being idle while a sweep goes on */
  get busy(): boolean {
    return [...this.controllers.values()].some((c) => c.running);
  }

  close(): void {
    this.closed = true;
    for (const controller of this.controllers.values()) {
      controller.kill();
    }
  }

  /** kind -> count, for what deleting a project removes */
  counts(projectId: string): Record<string, number> {
    return this.deps.repo.counts(projectId);
  }

  /**
   * A project's sweeps go with it: their records in the project's delete transaction, then (once that
   * is committed) the controllers of those running or paused stop their trials and end; nothing starts
   * them again, having no record.
   */
  deleteAll(tx: WriteTx, projectId: string): () => void {
    const going = this.deps.repo.list(projectId).filter((r) => r.state === 'running' || r.state === 'paused');
    const deleted = this.deps.repo.deleteAll(tx, projectId);
    return () => {
      deleted();
      for (const record of going) {
        const stopped: SweepRecord = { ...record, state: 'stopped' };
        this.writeControl(stopped); // a running controller reads it, stops the trials and ends
        this.launch(stopped); // none runs (between two starts): one stops what was left running
      }
    };
  }

  list(projectId: string): Sweep[] {
    return this.deps.repo.list(projectId).map((r) => sweepOf(r, readStatus(this.deps.home, r.id)));
  }

  get(projectId: string, id: string): SweepDetails {
    const record = this.deps.repo.get(projectId, id);
    return sweepDetailsOf(record, readStatus(this.deps.home, id));
  }

  async create(projectId: string, request: CreateSweepRequest): Promise<Sweep> {
    const definition = parseSweepFile(request.yaml, request.dir, request);
    // said now, before anything is stored: without Optuna no trial can run
    sweepPython(definition.method === 'cmaes' ? ['optuna', 'cmaes'] : ['optuna']);
    const record = await this.deps.repo.insert(projectId, definition);
    privateFolder(path.join(this.deps.home, 'sweeps'));
    privateFolder(sweepDir(this.deps.home, record.id));
    writeFileAtomic(
      path.join(sweepDir(this.deps.home, record.id), 'sweep.json'),
      JSON.stringify({ id: record.id, projectId, definition }, null, 2),
    );
    this.writeControl(record);
    this.launch(record);
    return this.publish(record);
  }

  async pause(projectId: string, id: string): Promise<Sweep> {
    return this.ask(this.deps.repo.get(projectId, id), 'paused', ['running']);
  }

  async resume(projectId: string, id: string): Promise<Sweep> {
    return this.ask(this.deps.repo.get(projectId, id), 'running', ['paused', 'stopped', 'failed', 'running']);
  }

  async stop(projectId: string, id: string): Promise<Sweep> {
    return this.ask(this.deps.repo.get(projectId, id), 'stopped', ['running', 'paused']);
  }

  async addTrials(projectId: string, id: string, add: number): Promise<Sweep> {
    const record = this.deps.repo.get(projectId, id);
    const definition = { ...record.definition, trials: record.definition.trials + add };
    const updated = await this.deps.repo.update(id, {
      definition,
      ...(record.state === 'finished' ? { state: 'running' as const, message: null } : {}),
    });
    this.writeControl(updated);
    if (updated.state === 'running') {
      this.launch(updated);
    }
    return this.publish(updated);
  }

  private async ask(record: SweepRecord, state: SweepState, from: readonly SweepState[]): Promise<Sweep> {
    if (!from.includes(record.state)) {
      throw new ApiError(
        409,
        'sweep_state',
        `The sweep "${record.name}" is ${record.state}: it can be ${state === 'running' ? 'resumed' : state} only while ${from.join(' or ')}.`,
      );
    }
    if (state === 'running') {
      sweepPython(record.definition.method === 'cmaes' ? ['optuna', 'cmaes'] : ['optuna']);
    }
    const updated = await this.deps.repo.update(record.id, {
      state,
      ...(state === 'running' ? { message: null } : {}),
    });
    this.writeControl(updated);
    // a stop needs a controller too: it stops the trials a previous one left running
    this.launch(updated);
    return this.publish(updated);
  }

  private writeControl(record: SweepRecord): void {
    writeFileAtomic(
      path.join(sweepDir(this.deps.home, record.id), 'control.json'),
      JSON.stringify({ state: record.state, trials: record.definition.trials }),
    );
  }

  /** Starts the sweep's controller unless one runs (a running one reads control.json by itself). */
  private launch(record: SweepRecord): void {
    if (this.closed || this.controllers.get(record.id)?.running) {
      return;
    }
    let python: string;
    try {
      python = sweepPython(record.definition.method === 'cmaes' ? ['optuna', 'cmaes'] : ['optuna']);
    } catch (e) {
      void this.ended(record.id, 'failed', (e as Error).message);
      return;
    }
    if (!fs.existsSync(path.join(sweepDir(this.deps.home, record.id), 'sweep.json'))) {
      void this.ended(record.id, 'failed', `The sweep's folder ${sweepDir(this.deps.home, record.id)} is gone.`);
      return;
    }
    const controller = new ControllerProcess(
      this.deps.home,
      record.id,
      python,
      {
        onChange: () => this.changed(record.id),
        onExit: (code) => this.exited(record.id, code),
      },
      record.definition.job ? this.deps.lab?.() : undefined,
    );
    this.controllers.set(record.id, controller);
  }

  private changed(id: string): void {
    const record = this.deps.repo.byId(id);
    if (record) {
      this.publish(record);
    }
  }

  private exited(id: string, code: number | null): void {
    this.controllers.delete(id);
    if (this.closed) {
      return; // the backend stops: the next start starts it again
    }
    const record = this.deps.repo.byId(id);
    if (!record) {
      return;
    }
    const status = readStatus(this.deps.home, id);
    const ended = status?.trials.filter((t) => t.state !== 'running').length ?? 0;
    // trials added, or resumed, while it was ending: the controller goes on
    const more = record.state === 'running' && ended < record.definition.trials;
    if ((status?.state === 'finished' && !more) || status?.state === 'failed') {
      if (record.state === 'running' || record.state === 'paused') {
        void this.ended(id, status.state, status.message);
      }
      return;
    }
    if (record.state !== 'running') {
      this.publish(record);
      return; // paused or stopped as asked
    }
    if (code === 0 && status?.state !== 'running') {
      this.launch(record); // it ended on an earlier ask (pause, stop, its last trial) that a later one undid
      return;
    }
    // ended while it should run (killed, crashed): started again, unless that keeps happening
    const now = Date.now();
    const recent = [...(this.restarts.get(id) ?? []), now].filter((t) => now - t < RESTART_WINDOW_MS);
    this.restarts.set(id, recent);
    if (code !== LOCK_HELD && recent.length > MAX_RESTARTS) {
      const log = path.join(sweepDir(this.deps.home, id), 'controller.log');
      void this.ended(
        id,
        'failed',
        `The sweep's controller exited ${recent.length} times in a minute (code ${code}): see ${log}, then resume the sweep.`,
      );
      return;
    }
    this.deps.log.warn(`sweeps: the controller of ${id} exited with code ${code}; starting it again`);
    setTimeout(
      () => {
        const current = this.closed ? undefined : this.deps.repo.byId(id);
        if (current && current.state === 'running') {
          this.launch(current);
        }
      },
      code === LOCK_HELD ? 200 : 1000,
    ).unref();
  }

  private async ended(id: string, state: SweepState, message: string | null): Promise<void> {
    try {
      this.publish(await this.deps.repo.update(id, { state, message }));
    } catch (e) {
      this.deps.log.error(`sweeps: recording the end of ${id} failed: ${(e as Error).message}`);
    }
  }

  private publish(record: SweepRecord): Sweep {
    const sweep = sweepOf(record, readStatus(this.deps.home, record.id));
    this.deps.events.publish({ type: 'sweepUpdated', sweep });
    return sweep;
  }
}
