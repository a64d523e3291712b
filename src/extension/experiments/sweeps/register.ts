import type * as vscode from 'vscode';
import type { BackendService } from '../../backend/backend-service';
import { Disposable } from '../../common/lifecycle';
import type { Ui } from '../../common/ui';
import type { ProjectsModel } from '../../projects/projects-model';
import type { CompareTable } from '../compare/panel';
import { registerSweepCommands } from './commands';
import { registerRunSweep } from './run-sweep';
import { SweepPages } from './page';
import { SweepsModel } from './sweeps-model';
import { SweepsTreePart } from './tree';

/**
 * Parameter sweeps in the editor: the project's sweeps (model), their group in the Experiments view,
 * their pages, and their commands (registered once the compare table they use exists).
 */
export class Sweeps extends Disposable {
  readonly model: SweepsModel;
  /** the "Sweeps" group of the Experiments view */
  readonly treePart: SweepsTreePart;
  readonly pages: SweepPages;

  constructor(
    extensionUri: vscode.Uri,
    private readonly backend: BackendService,
    private readonly projects: ProjectsModel,
    private readonly ui: Ui,
  ) {
    super();
    this.model = this._register(new SweepsModel(backend, projects));
    this.treePart = this._register(new SweepsTreePart(this.model));
    this.pages = this._register(new SweepPages(extensionUri, this.model, backend, ui));
  }

  registerCommands(compare: CompareTable): void {
    const { backend, projects, ui, model, pages } = this;
    this._register(registerRunSweep({ backend, projects, model, pages, ui }));
    registerSweepCommands({ backend, model, compare, pages, ui }).forEach((d) => this._register(d));
  }
}
