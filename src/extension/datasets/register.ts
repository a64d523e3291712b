import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from '../projects/projects-model';
import { DatasetAdder } from './add';
import { registerDatasetCommands } from './commands';
import { DatasetsModel } from './datasets-model';
import { DatasetsDropController } from './drop';
import { DatasetPreview } from './preview/panel';
import { DatasetTextDocuments } from './preview/text-documents';
import { DatasetsTree, type DatasetNode } from './tree';
import { VersionTarget } from './version-target';

/** The Datasets view of the active project, its model, the preview page and the dataset commands. */
export class Datasets extends Disposable {
  readonly model: DatasetsModel;
  readonly tree: DatasetsTree;
  /** files dragged from the Explorer onto the view */
  readonly drop = new DatasetsDropController();
  /** "Preview": the data of one version */
  readonly preview: DatasetPreview;

  constructor(extensionUri: vscode.Uri, backend: BackendService, projects: ProjectsModel, ui: Ui) {
    super();
    this.model = this._register(new DatasetsModel(backend, projects));
    this.tree = this._register(new DatasetsTree(this.model, this.drop));
    this.preview = this._register(
      new DatasetPreview(extensionUri, (action, version) => {
        const command = {
          copyCode: Commands.copyDatasetCode,
          copyPath: Commands.copyDatasetPath,
          export: Commands.exportDataset,
          openAsText: Commands.previewDataset,
        }[action];
        void vscode.commands.executeCommand(command, version);
      }),
    );
    registerDatasetCommands({
      backend,
      model: this.model,
      ui,
      adder: new DatasetAdder(backend, projects, this.model, ui),
      target: new VersionTarget(backend, this.model, ui, () => this.view.selection[0]),
      preview: this.preview,
      textDocuments: this._register(new DatasetTextDocuments()),
    }).forEach((d) => this._register(d));
  }

  get view(): vscode.TreeView<DatasetNode> {
    return this.tree.view;
  }
}
