import * as assert from 'assert';
import { ESLint, Linter } from 'eslint';
import * as path from 'path';
import tseslint from 'typescript-eslint';

/** The repository root, from the compiled test's folder (<out>/test/unit) or the source's. */
const root = path.resolve(__dirname, '../../..');

/**
 * The package-boundary rules of the repository's lint configuration, applied to one import written
 * in a file at `file` (the file need not exist): the messages it gets.
 */
async function lintImport(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const config = (await eslint.calculateConfigForFile(path.join(root, file))) as Linter.Config;
  const rules = {
    'no-restricted-imports': config.rules!['no-restricted-imports'],
    'no-restricted-syntax': config.rules!['no-restricted-syntax'],
  };
  const linter = new Linter({ configType: 'flat', cwd: root });
  const messages = linter.verify(
    code,
    [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser }, rules }],
    path.join(root, file),
  );
  return messages.map((m) => m.message);
}

const denied = async (file: string, code: string) =>
  assert.notDeepStrictEqual(await lintImport(file, code), [], `${file}: ${code} should be refused`);
const allowed = async (file: string, code: string) =>
  assert.deepStrictEqual(await lintImport(file, code), [], `${file}: ${code} should be allowed`);

describe('lint: package boundaries', function () {
  this.timeout(60_000);

  it('keeps the backend off the clients, the extension and the editor', async () => {
    await denied('src/backend/jobs/run-directory.ts', "import { RunWriter } from '../../client/runs/run-writer';");
    await denied('src/backend/app.ts', "import { MlLab } from '../extension/lab';");
    await denied('src/backend/app.ts', "import * as vscode from 'vscode';");
    await denied('src/backend/app.ts', "const m = await import('../client/index');");
    await denied('src/backend/files/blob-store.ts', "const c = require('../../client/connect');");
    await allowed('src/backend/jobs/run-directory.ts', "import { newRunId } from '../../common/run-directory/files';");
    await allowed('src/backend/app.ts', "import type { Project } from '../protocol/api';");
  });

  it('keeps the extension off the backend, but not off its own backend folder', async () => {
    await denied('src/extension/jobs/tree.ts', "import { serve } from '../../backend/main';");
    await denied('src/extension/lab.ts', "import type { AppDeps } from '../backend/app';");
    await allowed('src/extension/jobs/tree.ts', "import type { BackendService } from '../backend/backend-service';");
    await allowed('src/extension/lab.ts', "import * as vscode from 'vscode';");
  });

  it('keeps the Node client and the CLI off the backend and the extension, but for mllab serve', async () => {
    await denied('src/client/connect.ts', "import { serve } from '../backend/main';");
    await denied('src/client/connect.ts', "import { MlLab } from '../extension/lab';");
    await denied('src/cli/run.ts', "import { MlLab } from '../extension/lab';");
    await denied('src/cli/run.ts', "const { serve } = await import('../backend/main');");
    await denied('src/cli/main.ts', "const { createApp } = await import('../backend/app');");
    await denied('src/cli/main.ts', "import { serve } from '../backend';");
    await allowed('src/cli/main.ts', "const { serve } = await import('../backend/main');");
    await allowed('src/cli/run.ts', "import { RunWriter } from '../client/runs/run-writer';");
  });

  it('lets the protocol import only the protocol', async () => {
    await denied('src/protocol/api.ts', "import { labHome } from '../common/home';");
    await denied('src/protocol/api.ts', "import Fastify from 'fastify';");
    await denied('src/protocol/webviews/metric-charts.ts', "import * as fs from 'fs';");
    await allowed('src/protocol/webviews/metric-charts.ts', "import type { MetricSeries } from '../experiments';");
    await allowed('src/protocol/api.ts', "import type { Dataset } from './datasets';");
  });

  it('lets shared code import only shared code, and its browser part no Node module', async () => {
    await denied('src/common/home.ts', "import { connect } from '../client/connect';");
    await allowed('src/common/home.ts', "import * as fs from 'fs';");
    await denied('src/common/compare/sort.ts', "import * as fs from 'fs';");
    await denied('src/common/compare/sort.ts', "import { labHome } from '../home';");
    await allowed('src/common/compare/sort.ts', "import type { Column } from '../../protocol/webviews/compare-table';");
  });

  it('lets a webview import only the protocol, the browser-safe shared code and webviews/common', async () => {
    const file = 'webviews/compare-table/index.ts';
    await denied(file, "import { labHome } from '../../src/common/home';");
    await denied(file, "import { RunWriter } from '../../src/client/runs/run-writer';");
    await denied(file, "import { chart } from '../metric-charts/chart';");
    await denied(file, "import * as path from 'path';");
    await denied(file, "import * as fs from 'node:fs';");
    await denied(file, "import * as vscode from 'vscode';");
    await allowed(file, "import type { HostMessage } from '../../src/protocol/webviews/compare-table';");
    await allowed(file, "import { compareCells } from '../../src/common/compare/cells';");
    await allowed(file, "import { el } from '../common/dom';");
    await allowed(file, "import uPlot from 'uplot';");
    await allowed(file, "import { rows } from './rows';");
  });
});
