import * as vscode from 'vscode';
import { Commands } from '../common/commands';
import { isDataset, isVersion, type DatasetNode } from './tree';

const URI_LIST = 'text/uri-list';

/**
 * Files and folders dragged from the Explorer onto the Datasets view are added as datasets; dropped
 * onto a dataset (or one of its versions), they become its next version (the name is prefilled).
 */
export class DatasetsDropController implements vscode.TreeDragAndDropController<DatasetNode> {
  readonly dropMimeTypes = [URI_LIST];
  readonly dragMimeTypes: string[] = [];

  async handleDrop(target: DatasetNode | undefined, data: vscode.DataTransfer): Promise<void> {
    const text = await data.get(URI_LIST)?.asString();
    const uris = (text ?? '')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith('#'))
      .map((line) => vscode.Uri.parse(line));
    if (uris.length === 0) {
      return;
    }
    const datasetName = isDataset(target) ? target.name : isVersion(target) ? target.name : undefined;
    // through the command, so failures are reported like any other; not awaited: the drop is done
    void vscode.commands.executeCommand(Commands.addDatasetFromExplorer, uris[0], uris, datasetName);
  }
}
