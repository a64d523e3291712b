import * as assert from 'assert';
import * as vscode from 'vscode';

describe('harness sample', () => {
  it('runs inside VS Code with the workspace open', () => {
    assert.ok(vscode.version);
    console.log(
      `vscode ${vscode.version}, folders: ${vscode.workspace.workspaceFolders?.map((f) => f.uri.toString())}`,
    );
    assert.strictEqual(vscode.workspace.workspaceFolders?.length, 1);
    assert.strictEqual(vscode.workspace.workspaceFolders[0].uri.fsPath, process.env.MLLAB_TEST_WORKSPACE);
  });

  it('fails when asked to', () => {
    if (process.env.MLLAB_SAMPLE_FAIL === '1') assert.fail('deliberate failure');
  });
});

describe('harness second window', function () {
  this.timeout(0);
  it('opens a second extension host when asked', async function () {
    if (process.env.MLLAB_SAMPLE_SECOND !== '1') this.skip();
    const fs = await import('fs');
    const path = await import('path');
    const signals = process.env.MLLAB_IT_SIGNAL_DIR ?? '';
    console.log('MLLAB_OPEN_SECOND_WINDOW');
    const activations = (): string[] => {
      try {
        return fs.readFileSync(path.join(signals, 'activations.txt'), 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    };
    const start = Date.now();
    while (!fs.existsSync(path.join(signals, 'second-window-open')) || new Set(activations()).size < 2) {
      assert.ok(Date.now() - start < 60000, 'second window did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`second host up after ${Date.now() - start} ms; activations: ${activations().join(',')}`);
  });
  it('hangs when asked to', async function () {
    if (process.env.MLLAB_SAMPLE_HANG !== '1') this.skip();
    await new Promise(() => undefined);
  });
});
