import * as http from 'http';
import type { BackendEvent } from '../protocol/api';
import type { ApiClient } from './api-client';

/**
 * Follows GET /api/events and calls `onEvent` for each event. `onClose` fires once when the stream
 * ends for any reason (backend stopped, network error); reconnecting is the owner's decision.
 */
export class EventStream {
  private request: http.ClientRequest | undefined;
  private closed = false;

  constructor(
    client: ApiClient,
    private readonly onEvent: (event: BackendEvent) => void,
    private readonly onClose: (reason: string) => void,
  ) {
    this.request = http.get(client.streamOptions('/api/events'), (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        this.close(`event stream refused with HTTP ${res.statusCode}`);
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('end', () => this.close('the backend closed the event stream'));
      res.on('error', (e) => this.close(e.message));
    });
    this.request.on('error', (e) => this.close(e.message));
  }

  private dispatch(block: string): void {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    if (data) {
      this.onEvent(JSON.parse(data) as BackendEvent);
    }
  }

  private close(reason: string): void {
    if (!this.closed) {
      this.closed = true;
      this.request?.destroy();
      this.onClose(reason);
    }
  }

  dispose(): void {
    this.closed = true;
    this.request?.destroy();
  }
}
