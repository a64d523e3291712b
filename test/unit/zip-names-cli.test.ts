/** The built CLI shows why a folder cannot be packaged, naming the file (and the code, with --json). */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { cli, eachCliLab } from './process-helpers';

describe('mllab dataset add: a folder that cannot be packaged (built CLI)', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  eachCliLab((h, r) => ([home, root] = [h, r]));

  it('names the file with a bad name, and the dangling link with its target, storing nothing', () => {
    const data = path.join(root, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'Train.csv'), 'a\n1\n');
    fs.writeFileSync(path.join(data, 'train.csv'), 'a\n2\n');
    const text = cli(['dataset', 'add', data, '--home', home]);
    assert.strictEqual(text.status, 1, text.stdout);
    assert.match(
      text.stderr,
      /^mllab: .*data cannot be packaged: it holds both "(Train|train)\.csv" and "(train|Train)\.csv", names that differ only in case .*Rename one of them, then try again\.\n$/,
    );

    fs.rmSync(path.join(data, 'Train.csv'));
    fs.symlinkSync('../gone.csv', path.join(data, 'old.csv'));
    const json = cli(['dataset', 'add', data, '--home', home, '--json']);
    assert.strictEqual(json.status, 1);
    const { error } = json.json<{ error: { code: string; message: string } }>();
    assert.strictEqual(error.code, 'dangling_link');
    assert.match(
      error.message,
      /data\/old\.csv is a dangling link: it points to \.\.\/gone\.csv, which does not exist/,
    );

    const list = cli(['dataset', 'list', '--home', home, '--json']);
    assert.deepStrictEqual(list.json<unknown[]>(), [], 'nothing was stored');
  });
});
