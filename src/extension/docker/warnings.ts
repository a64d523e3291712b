import * as vscode from 'vscode';

/** "⚠ 2 warnings" for a tree item's description, '' when there are none. */
export function warningsBadge(warnings: readonly string[]): string {
  return warnings.length === 0 ? '' : `⚠ ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
}

/**
 * Adds the reasons behind a service's or a job's warnings to its tooltip (risky settings are allowed
 * on a person's own machine, but never silent).
 */
export function appendWarnings(tooltip: vscode.MarkdownString, warnings: readonly string[]): void {
  if (warnings.length === 0) {
    return;
  }
  tooltip.supportThemeIcons = true;
  tooltip.appendMarkdown('\n\n---\n\n');
  for (const w of warnings) {
    tooltip.appendMarkdown('$(warning) ');
    tooltip.appendText(w);
    tooltip.appendMarkdown('\n\n');
  }
}
