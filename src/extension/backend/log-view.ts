import * as fs from 'fs';
import * as vscode from 'vscode';
import { homePaths } from '../../common/home';
import { Disposable, toDisposable } from '../common/lifecycle';

const INITIAL_TAIL_BYTES = 256 * 1024;

/**
 * "ML Lab: Show Backend Log": shows the backend's log file (whichever window started the backend)
 * in an output channel, following new lines while the window is open.
 */
export class BackendLogView extends Disposable {
  private channel: vscode.OutputChannel | undefined;
  private offset = 0;
  private watcher: fs.FSWatcher | undefined;

  constructor(private readonly home: () => string | undefined) {
    super();
    this._register(toDisposable(() => this.watcher?.close()));
  }

  show(): void {
    const home = this.home();
    if (!home) {
      void vscode.window.showInformationMessage('ML Lab: open a folder first; the backend log lives in its lab home.');
      return;
    }
    const file = homePaths(home).log;
    if (!this.channel) {
      this.channel = this._register(vscode.window.createOutputChannel('ML Lab Backend', 'log'));
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      this.offset = Math.max(0, size - INITIAL_TAIL_BYTES);
      this.readNew(file);
      this.follow(file);
    }
    this.channel.show(true);
  }

  private follow(file: string): void {
    try {
      this.watcher = fs.watch(file, () => this.readNew(file));
    } catch {
      // the file appears when the backend first starts; the next show() will follow it
    }
  }

  private readNew(file: string): void {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      this.channel?.appendLine(`(no backend log yet at ${file})`);
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        this.offset = 0;
      }
      if (size > this.offset) {
        const buffer = Buffer.alloc(size - this.offset);
        fs.readSync(fd, buffer, 0, buffer.length, this.offset);
        this.offset = size;
        this.channel?.append(buffer.toString('utf8'));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
