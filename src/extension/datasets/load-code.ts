import type { DatasetVersion } from '../../protocol/datasets';

export type CodeLanguage = 'python' | 'node';

/** Code that loads a version with the ML Lab client of `language` (JSON strings are valid in both). */
export function loadCode(language: CodeLanguage, version: DatasetVersion): string {
  const name = JSON.stringify(version.name);
  return language === 'python'
    ? `import mllab\npath = mllab.dataset(${name}, version=${version.version})\n`
    : `const mllab = require('mllab');\nconst path = await mllab.dataset(${name}, { version: ${version.version} });\n`;
}
