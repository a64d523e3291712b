/** The throwaway folders one integration run uses. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface RunDirs {
  root: string;
  serverDataDir: string;
  extensionsDir: string;
  /** The folder opened in the workbench (a copy of the fixture workspace, if there is one). */
  workspace: string;
  /** Where the harness drops marker files for the suite (see MLLAB_IT_SIGNAL_DIR). */
  signals: string;
  serverLog: string;
}

/** Settings that keep the workbench quiet and offline, shared with the demo (scripts/demo.js). */
const MACHINE_SETTINGS = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'scripts', 'offline-settings.json'), 'utf8'),
) as Record<string, unknown>;

export function createRunDirs(fixtureWorkspace: string): RunDirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-it-'));
  const dirs: RunDirs = {
    root,
    serverDataDir: path.join(root, 'server-data'),
    extensionsDir: path.join(root, 'extensions'),
    workspace: path.join(root, 'workspace'),
    signals: path.join(root, 'signals'),
    serverLog: path.join(root, 'server.log'),
  };
  for (const dir of [dirs.serverDataDir, dirs.extensionsDir, dirs.signals]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  // Remote ("Machine") settings of the server: keep the workbench quiet and offline.
  const machineSettings = path.join(dirs.serverDataDir, 'data', 'Machine', 'settings.json');
  fs.mkdirSync(path.dirname(machineSettings), { recursive: true });
  fs.writeFileSync(machineSettings, JSON.stringify(MACHINE_SETTINGS, null, 2));
  if (fs.existsSync(fixtureWorkspace)) {
    fs.cpSync(fixtureWorkspace, dirs.workspace, { recursive: true });
  } else {
    fs.mkdirSync(dirs.workspace);
  }
  return dirs;
}

export function removeRunDirs(dirs: RunDirs): void {
  fs.rmSync(dirs.root, { recursive: true, force: true, maxRetries: 3 });
}
