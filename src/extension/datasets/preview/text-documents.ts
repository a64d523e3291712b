import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DatasetVersion } from '../../../protocol/datasets';
import { Disposable } from '../../common/lifecycle';
import { formatBytes } from '../format';

const SCHEME = 'mllab-dataset';
/** bigger text files are not opened in an editor (the whole file would be loaded) */
const MAX_TEXT_BYTES = 50 * 1024 * 1024;
/** languages for extensions VS Code does not know by default */
const LANGUAGES: Record<string, string> = { '.graphml': 'xml', '.gml': 'plaintext', '.ndjson': 'jsonl' };

/**
 * Opens stored text versions (JSON, GraphML, TXT, ...) in read-only editors. The documents live in
 * their own scheme so the tab shows the file's own name (iris.json) rather than the content hash it is
 * stored under, and so they cannot be edited.
 */
export class DatasetTextDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  /** document uri -> stored file; only versions this window opened can be read */
  private readonly files = new Map<string, string>();

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const file = this.files.get(uri.toString());
    if (!file) {
      return Promise.reject(new Error(`${uri.path} is not an open dataset version: preview it again.`));
    }
    return fs.promises.readFile(file, 'utf8');
  }

  async open(version: DatasetVersion): Promise<vscode.TextEditor> {
    if (version.size > MAX_TEXT_BYTES) {
      throw new Error(
        `${version.name}:v${version.version} is ${formatBytes(version.size)}, too big for an editor: use Export or Copy Path.`,
      );
    }
    const uri = vscode.Uri.from({
      scheme: SCHEME,
      path: `/${version.name}/v${version.version}/${version.fileName}`,
      query: version.sha256, // two projects may both have an "iris:v2"
    });
    this.files.set(uri.toString(), version.path);
    let document = await vscode.workspace.openTextDocument(uri);
    const language = LANGUAGES[path.extname(version.fileName).toLowerCase()];
    if (language && document.languageId !== language && (await vscode.languages.getLanguages()).includes(language)) {
      document = await vscode.languages.setTextDocumentLanguage(document, language);
    }
    return vscode.window.showTextDocument(document, { preview: true });
  }
}
