import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Disposable, toDisposable } from '../common/lifecycle';

/** Quotes a word for a POSIX shell when it needs it (a plain word stays as it is, readable). */
export const shellQuote = (s: string): string => (/^[\w./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Writes the `mllab` command into `folder`: a small launcher that runs the extension's CLI with the
 * editor's own runtime (inside desktop VS Code that is Electron, which ELECTRON_RUN_AS_NODE turns
 * into plain Node for this one process only). Integrated terminals get `folder` on PATH, so a run
 * reads `mllab run -- python train.py`, as a person would type it.
 */
export function writeCliLauncher(folder: string, nodePath: string, cliScript: string): string {
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') {
    const file = path.join(folder, 'mllab.cmd');
    writeIfChanged(file, `@echo off\r\nset ELECTRON_RUN_AS_NODE=1\r\n"${nodePath}" "${cliScript}" %*\r\n`, 0o700);
    return file;
  }
  const file = path.join(folder, 'mllab');
  writeIfChanged(
    file,
    `#!/bin/sh\n# ML Lab's command line, with the editor's runtime (written by the ML Lab extension)\nELECTRON_RUN_AS_NODE=1 exec ${shellQuote(nodePath)} ${shellQuote(cliScript)} "$@"\n`,
    0o700,
  );
  return file;
}

function writeIfChanged(file: string, text: string, mode: number): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) {
    return;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/**
 * Whether the shell of a terminal runs a command right now (it has a child process): typing the
 * next run into it would go to that command's input. Unknown (no `pgrep`, no /proc) counts as busy.
 */
export function shellIsBusy(shellPid: number | undefined): boolean {
  if (!shellPid) {
    return true;
  }
  try {
    execFileSync('pgrep', ['-P', String(shellPid)], { stdio: 'ignore', timeout: 2000 });
    return true;
  } catch (e) {
    const status = (e as { status?: number | null }).status;
    if (status === 1) {
      return false; // pgrep found no child
    }
  }
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (/^\d+$/.test(entry)) {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ")"
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === shellPid) {
          return true;
        }
      }
    }
    return false;
  } catch {
    return true;
  }
}

/**
 * The terminals Run as Experiment types into: one per script, named after it, reused for the next
 * run of the same script when its shell is idle (a new one while a run still goes on in it).
 */
export class RunTerminals extends Disposable {
  private readonly terminals = new Map<string, vscode.Terminal>();
  /** the folder on the terminals' PATH that holds the `mllab` launcher; undefined if it could not be written */
  readonly binFolder: string | undefined;

  constructor(
    private readonly home: () => string | undefined,
    binFolder: string,
    private readonly cliScript: string,
    environment: vscode.EnvironmentVariableCollection | undefined,
  ) {
    super();
    try {
      writeCliLauncher(binFolder, process.execPath, cliScript);
      this.binFolder = binFolder;
      environment?.prepend('PATH', binFolder + path.delimiter);
    } catch {
      this.binFolder = undefined; // a read-only storage: the long command line still works
    }
    this._register(
      vscode.window.onDidCloseTerminal((t) => {
        for (const [key, value] of this.terminals) {
          if (value === t) {
            this.terminals.delete(key);
          }
        }
      }),
    );
    this._register(toDisposable(() => this.terminals.clear()));
  }

  /** The command that starts the CLI in a terminal: `mllab`, or its full form without the launcher. */
  get cli(): string {
    return this.binFolder ? 'mllab' : `${shellQuote(process.execPath)} ${shellQuote(this.cliScript)}`;
  }

  /** Types `mllab <args>` into the script's terminal (created, or reused when idle) and shows it. */
  async run(key: string, name: string, cwd: string, args: string): Promise<vscode.Terminal> {
    const home = this.home();
    if (!home) {
      throw new Error('Open a folder first: experiments are recorded in its lab home (.mllab).');
    }
    let terminal = this.terminals.get(key);
    if (terminal && (terminal.exitStatus !== undefined || shellIsBusy(await terminal.processId))) {
      terminal = undefined; // closed, or a run still goes on in it: leave it be
    }
    // a reused terminal may have changed folder since
    const prefix = terminal ? `cd ${shellQuote(cwd)} && ` : '';
    if (!terminal) {
      terminal = vscode.window.createTerminal({
        name: `ML Lab: ${name}`,
        cwd,
        iconPath: new vscode.ThemeIcon('beaker'),
        env: {
          MLLAB_HOME: home,
          ...(this.binFolder ? { PATH: `${this.binFolder}${path.delimiter}${process.env.PATH ?? ''}` } : {}),
        },
      });
      this.terminals.set(key, terminal);
    }
    terminal.show(true);
    terminal.sendText(`${prefix}${this.cli} ${args}`);
    return terminal;
  }
}
