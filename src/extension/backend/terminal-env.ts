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

/**
 * Points the integrated terminals at the lab the window talks to: MLLAB_HOME of the folder's lab home,
 * or MLLAB_URL (and MLLAB_CA_FILE) of a lab served by URL. The token is never put in the environment
 * (VS Code keeps the collection on disk): `mllab login URL` or MLLAB_TOKEN gives it in the terminal.
 */
export function pointTerminalsAt(
  collection: vscode.EnvironmentVariableCollection,
  home: string | undefined,
  remote: { readonly url: string; readonly caFile?: string } | undefined,
): void {
  if (remote) {
    collection.description = `ML Lab: MLLAB_URL of the lab at ${remote.url} (log in there with "mllab login"), and its Python client (import mllab)`;
    collection.delete('MLLAB_HOME');
    collection.replace('MLLAB_URL', remote.url);
    if (remote.caFile) {
      collection.replace('MLLAB_CA_FILE', remote.caFile);
    } else {
      collection.delete('MLLAB_CA_FILE');
    }
    return;
  }
  collection.description = 'ML Lab: MLLAB_HOME of this lab home, and its Python client (import mllab)';
  collection.delete('MLLAB_URL');
  collection.delete('MLLAB_CA_FILE');
  if (home) {
    collection.replace('MLLAB_HOME', home);
  }
}
