import * as path from 'path';
import type * as vscode from 'vscode';

/**
 * Integrated terminals of this window get MLLAB_HOME (so `mllab` and the clients find this lab home
 * from any folder) and the extension's Python client on PYTHONPATH (so `import mllab` works without
 * installing anything). VS Code applies the collection to new terminals and offers to relaunch old ones.
 */
export function configureTerminalEnvironment(
  collection: vscode.GlobalEnvironmentVariableCollection,
  extensionPath: string,
  home: string | undefined,
): void {
  collection.clear();
  collection.description = 'ML Lab: MLLAB_HOME of this lab home, and its Python client (import mllab)';
  if (home) {
    collection.replace('MLLAB_HOME', home);
  }
  collection.prepend('PYTHONPATH', path.join(extensionPath, 'python') + path.delimiter);
}
