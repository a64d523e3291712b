import type * as vscode from 'vscode';
import { parseDatasetRef } from '../../protocol/dataset-ref';
import type { DatasetVersion } from '../../protocol/datasets';
import type { BackendService } from '../backend/backend-service';
import type { Ui } from '../common/ui';
import type { DatasetsModel } from './datasets-model';
import { formatBytes, kindOf, refOf } from './format';
import { isDataset, isVersion, type DatasetNode } from './tree';

/**
 * Finds the version a command acts on: a version (tree item or DTO), a dataset (its latest version,
 * or a pick when `pickAmong` says so), a reference such as "iris:v2", else the view's selection,
 * else a pick among all versions of the active project.
 */
export class VersionTarget {
  constructor(
    private readonly backend: BackendService,
    private readonly model: DatasetsModel,
    private readonly ui: Ui,
    private readonly selected: () => DatasetNode | undefined,
  ) {}

  async resolve(
    arg: unknown,
    title: string,
    datasetMeans: 'latest' | 'pick' = 'latest',
  ): Promise<DatasetVersion | undefined> {
    const target = arg ?? this.selected();
    if (isVersion(target)) {
      return target;
    }
    if (isDataset(target)) {
      const versions = [...target.versions].reverse();
      return datasetMeans === 'latest' || versions.length === 1 ? versions[0] : this.pick(versions, title);
    }
    if (typeof target === 'string') {
      const ref = parseDatasetRef(target);
      const client = await this.backend.ready();
      return client.getDatasetVersion(ref.name, ref.version);
    }
    await this.model.refresh();
    const versions = this.model.versions;
    if (versions.length === 0) {
      throw new Error('The active project has no datasets yet: add one first.');
    }
    return this.pick(versions, title);
  }

  private async pick(versions: DatasetVersion[], title: string): Promise<DatasetVersion | undefined> {
    const picked = await this.ui.pick(
      versions.map((v) => ({
        label: refOf(v),
        description: `${formatBytes(v.size)} · ${kindOf(v)}`,
        detail: v.description || undefined,
        version: v,
      })),
      { title, placeHolder: 'Select a dataset version', matchOnDescription: true },
    );
    return picked?.version;
  }
}

/** The local path of a file or folder given as a path or a `file:` Uri (a command argument). */
export const pathOf = (source: vscode.Uri | string): string => {
  if (typeof source === 'string') {
    return source;
  }
  if (source.scheme !== 'file') {
    throw new Error(`${source.toString()} is not a file on this machine: only local files and folders can be added.`);
  }
  return source.fsPath;
};
