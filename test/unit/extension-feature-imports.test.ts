import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** The repository root, from the compiled test's folder (<out>/test/unit) or the source's. */
const root = path.resolve(__dirname, '../../..');
const extension = path.join(root, 'src', 'extension');

function sourcesUnder(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? sourcesUnder(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The extension folders (below src/extension) that the relative imports of a feature's files reach. */
function foldersImportedBy(feature: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  for (const file of sourcesUnder(path.join(extension, feature))) {
    const imports = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles;
    for (const { fileName } of imports) {
      if (!fileName.startsWith('.')) {
        continue;
      }
      const target = path.relative(extension, path.resolve(path.dirname(file), fileName));
      if (target.startsWith('..')) {
        continue; // outside the extension: protocol, client, shared code
      }
      const folder = target.split(path.sep)[0];
      reached.set(folder, [...(reached.get(folder) ?? []), path.relative(root, file)]);
    }
  }
  return reached;
}

function assertNoImport(feature: string, forbidden: readonly string[]): void {
  const reached = foldersImportedBy(feature);
  assert.ok(reached.size > 0, `no imports found in src/extension/${feature}: the scan is broken`);
  for (const folder of forbidden) {
    assert.deepStrictEqual(reached.get(folder) ?? [], [], `src/extension/${feature} must not import ${folder}/`);
  }
}

describe('extension features: who imports whom', () => {
  it('keeps jobs and services apart: both import the shared Docker pieces, never each other', () => {
    assertNoImport('jobs', ['services', 'containers']);
    assertNoImport('services', ['jobs', 'containers']);
    assert.ok(foldersImportedBy('jobs').has('docker'));
    assert.ok(foldersImportedBy('services').has('docker'));
  });

  it('keeps the shared Docker pieces free of the features that use them', () => {
    assertNoImport('docker', ['jobs', 'services', 'containers', 'models', 'experiments', 'datasets']);
  });

  it('sees an import between two features when there is one', () => {
    // the composition of jobs and services imports both: the scan must report it
    const reached = foldersImportedBy('containers');
    assert.ok(reached.has('jobs') && reached.has('services'), [...reached.keys()].join(', '));
  });
});
