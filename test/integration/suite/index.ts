/**
 * Test runner loaded by the extension host (`extensionTestsPath`): runs every `*.it.js` file next to
 * this one (or those whose name contains MLLAB_IT_ONLY) with mocha and rejects if a test fails (the @vscode/test-electron convention).
 */
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // MLLAB_IT_ONLY=charts runs only the *.it.js files whose name contains "charts"
  const only = process.env.MLLAB_IT_ONLY;
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false, timeout: 60_000 });
  const files = fs
    .readdirSync(__dirname)
    .filter((name) => name.endsWith('.it.js'))
    .filter((name) => !only || name.includes(only))
    .sort();
  for (const name of files) {
    mocha.addFile(path.join(__dirname, name));
  }
  return new Promise((resolve, reject) => {
    if (files.length === 0) {
      reject(new Error(`no *.it.js test files in ${__dirname}`));
      return;
    }
    try {
      mocha.run((failures) => {
        if (failures > 0) {
          reject(new Error(`${failures} integration test(s) failed`));
        } else {
          resolve();
        }
      });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
