import * as vscode from 'vscode';

/**
 * Models arrive in a later version. Until then their views have no
 * items, so VS Code shows their welcome content (package.json, "viewsWelcome"), which says so.
 */
export const UPCOMING_VIEWS = ['mllab.models'] as const;

class EmptyTree implements vscode.TreeDataProvider<never> {
  getChildren(): never[] {
    return [];
  }
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }
}

export function registerUpcomingViews(): vscode.Disposable[] {
  return UPCOMING_VIEWS.map((id) => vscode.window.registerTreeDataProvider(id, new EmptyTree()));
}
