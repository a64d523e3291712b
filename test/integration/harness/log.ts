/** Printing what the workbench forwards through `codeAutomationLog`. */

/**
 * In test mode the workbench forwards its own log entries along with the extension host's console
 * output, unlabelled. These are the routine ones of a healthy offline run; MLLAB_IT_VERBOSE=1 shows them.
 */
const WORKBENCH_NOISE: RegExp[] = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket/,
  /^\[reconnection-grace-time\]/,
  /^(Updating|Ignoring fetching) additional builtin extensions/,
  /^\[(AgentHost|AccountPolicyGate|ChatModelSelection)\b/,
  // code-server serves no service worker when its VS Code server is run directly:
  /^\[Service Worker\] registration/,
  /^Failed to load resource: the server responded with a status of 404/,
  /^A bad HTTP response code \(404\)/,
  /^No search provider registered for scheme/,
  /^Canceled: Canceled/, // pending remote calls when the workbench shuts down after the tests
];

export function isWorkbenchNoise(line: string): boolean {
  return WORKBENCH_NOISE.some((pattern) => pattern.test(line));
}

/** Writes a forwarded log line to stdout; warnings and errors are tagged with their level. */
export function printLogLine(level: string, line: string, options: { verbose: boolean; prefix?: string }): void {
  if (!options.verbose && isWorkbenchNoise(line)) {
    return;
  }
  const tag = level === 'error' || level === 'warn' ? `[${level}] ` : '';
  process.stdout.write(`${options.prefix ?? ''}${tag}${line}\n`);
}

/** A harness message. */
export function say(message: string): void {
  process.stdout.write(`[integration] ${message}\n`);
}
