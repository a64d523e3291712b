/** the longest line read for a secret: far more than any token */
const MAX_CHARS = 8192;

/**
 * Reads one line holding a secret (a token). On a terminal the prompt goes to stderr and what is
 * typed is not echoed; from a pipe or file, the first line of the input is taken.
 */
export function readSecret(
  prompt: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  return input.isTTY ? fromTerminal(prompt, input, output) : firstLine(input);
}

function fromTerminal(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  // echo goes off before the prompt shows, so nothing typed after it is ever echoed
  input.setRawMode(true);
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) {
        reject(error);
      } else {
        resolve(text);
      }
    };
    const onData = (chunk: Buffer | string) => {
      for (const c of chunk.toString()) {
        if (c === '\r' || c === '\n' || c === '\u0004') {
          finish();
          return;
        }
        if (c === '\u0003') {
          finish(new Error('Cancelled: nothing was stored.'));
          return;
        }
        if (c === '\u007f' || c === '\b') {
          text = text.slice(0, -1);
        } else if (c >= ' ' && text.length < MAX_CHARS) {
          text += c;
        }
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

function firstLine(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = () => {
      input.off('data', onData);
      input.off('end', done);
      input.off('error', reject);
      input.pause();
      resolve(text.split(/\r?\n/)[0]);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.includes('\n') || text.length > MAX_CHARS) {
        done();
      }
    };
    input.on('data', onData);
    input.once('end', done);
    input.once('error', reject);
    input.resume();
  });
}
