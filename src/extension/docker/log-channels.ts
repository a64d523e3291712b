import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';

/**
 * Output channels that show container logs as they are written: one channel per job run or service,
 * reused when shown again. A follow stream is read incrementally, so a job printing hundreds of MB
 * never blocks the extension host (the channel itself keeps what VS Code keeps).
 */
export class LogChannels extends Disposable {
  private readonly channels = new Map<string, { channel: vscode.OutputChannel; stop: () => void; tail: string }>();

  /** The last few KB a channel received (for tests: VS Code offers no way to read a channel back). */
  tail(title: string): string {
    return this.channels.get(title)?.tail ?? '';
  }

  /** Shows `title`'s channel, replacing its content with `stream` (read until it ends or is replaced). */
  show(title: string, stream: NodeJS.ReadableStream & { destroy?: () => void }): vscode.OutputChannel {
    let entry = this.channels.get(title);
    if (!entry) {
      entry = { channel: vscode.window.createOutputChannel(title), stop: () => undefined, tail: '' };
      this.channels.set(title, entry);
    }
    entry.stop();
    const channel = entry.channel;
    channel.clear();
    channel.show(true);
    const decoder = new TextDecoder();
    const current = entry;
    current.tail = '';
    const onData = (chunk: Buffer) => {
      const text = decoder.decode(chunk, { stream: true });
      channel.append(text);
      current.tail = (current.tail + text).slice(-4096);
    };
    stream.on('data', onData);
    stream.on('error', (e: Error) => channel.appendLine(`\n[ML Lab: the log stream broke: ${e.message}]`));
    entry.stop = () => {
      stream.removeListener('data', onData);
      stream.destroy?.();
    };
    return channel;
  }

  override dispose(): void {
    for (const { channel, stop } of this.channels.values()) {
      stop();
      channel.dispose();
    }
    this.channels.clear();
    super.dispose();
  }
}
