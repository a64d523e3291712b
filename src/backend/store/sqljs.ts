import * as fs from 'fs';
import * as path from 'path';
import initSqlJs, { SqlJsStatic } from 'sql.js';

let loaded: Promise<SqlJsStatic> | undefined;

/**
 * Finds sql-wasm.wasm: next to the bundle in dist/ (where webpack copies it), or in node_modules when
 * running the compiled sources in tests. MLLAB_SQL_WASM overrides both.
 */
function findWasm(): string {
  const override = process.env.MLLAB_SQL_WASM;
  if (override) {
    return override;
  }
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [
      path.join(dir, 'sql-wasm.wasm'),
      path.join(dir, 'node_modules', 'sql.js', 'dist', 'sql-wasm.wasm'),
    ]) {
      if (fs.existsSync(candidate)) {
        return candidate;
      }
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`sql-wasm.wasm not found near ${__dirname}: reinstall ML Lab`);
    }
  }
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!loaded) {
    const wasm = findWasm();
    loaded = initSqlJs({ locateFile: () => wasm });
  }
  return loaded;
}
