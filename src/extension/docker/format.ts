import * as vscode from 'vscode';
import type { JobRunState, ServiceStatus } from '../../protocol/containers';

const passed = new vscode.ThemeColor('testing.iconPassed');
const failed = new vscode.ThemeColor('testing.iconFailed');
const skipped = new vscode.ThemeColor('testing.iconSkipped');

export const JOB_RUN_ICONS: Record<JobRunState, vscode.ThemeIcon> = {
  queued: new vscode.ThemeIcon('clock'),
  running: new vscode.ThemeIcon('loading~spin'),
  succeeded: new vscode.ThemeIcon('pass', passed),
  failed: new vscode.ThemeIcon('error', failed),
  stopped: new vscode.ThemeIcon('debug-stop', skipped),
  unknown: new vscode.ThemeIcon('question', skipped),
  skipped: new vscode.ThemeIcon('debug-step-over', skipped),
};

export const SERVICE_ICONS: Record<ServiceStatus, vscode.ThemeIcon> = {
  starting: new vscode.ThemeIcon('loading~spin'),
  running: new vscode.ThemeIcon('play-circle'),
  healthy: new vscode.ThemeIcon('pass', passed),
  unhealthy: new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground')),
  restarting: new vscode.ThemeIcon('sync~spin', failed),
  exited: new vscode.ThemeIcon('error', failed),
  stopped: new vscode.ThemeIcon('debug-stop', skipped),
  unknown: new vscode.ThemeIcon('question', skipped),
};

/** "12.3 s", "4 min 5 s" between two ISO times (or until now while running); '' without a start. */
export function elapsed(startedAt: string | null, endedAt: string | null): string {
  if (!startedAt) {
    return '';
  }
  const s = Math.max(0, ((endedAt ? Date.parse(endedAt) : Date.now()) - Date.parse(startedAt)) / 1000);
  return s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${(s / 3600).toFixed(1)} h`;
}

/** Splits a command line like a POSIX shell would for simple cases: spaces, '...' and "..." quoting, \\ escapes. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) {
        quote = undefined;
      } else if (c === '\\' && quote === '"' && i + 1 < line.length) {
        current += line[++i];
      } else {
        current += c;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) {
        out.push(current);
      }
      current = '';
      has = false;
    } else {
      current += c;
      has = true;
    }
  }
  if (quote) {
    throw new Error(`The command has an unclosed ${quote} quote: close it and try again.`);
  }
  if (has) {
    out.push(current);
  }
  return out;
}
