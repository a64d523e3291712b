import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { formatParams, parseParamsText, readParamsFile } from '../../src/extension/experiments/params';
import { parseParams } from '../../src/cli/run';
import { tempHome } from './helpers';

describe('experiment params (editor params files and input, mllab run --param)', () => {
  let root: string;
  let cleanup: () => void;
  let script: string;
  beforeEach(() => {
    const t = tempHome();
    cleanup = t.cleanup;
    root = path.dirname(t.home);
    fs.mkdirSync(root, { recursive: true });
    script = path.join(root, 'train.py');
    fs.writeFileSync(script, '');
  });
  afterEach(() => cleanup());

  it('reads params.yaml, params.yml or params.json next to the script, YAML first', () => {
    assert.strictEqual(readParamsFile(script), undefined);
    fs.writeFileSync(path.join(root, 'params.json'), '{"lr": 0.1, "layers": [64, 32]}');
    assert.deepStrictEqual(readParamsFile(script)?.params, { lr: 0.1, layers: [64, 32] });
    fs.writeFileSync(path.join(root, 'params.yaml'), 'lr: 0.2\noptimizer: adam\nnested:\n  a: 1\n');
    const fromYaml = readParamsFile(script)!;
    assert.strictEqual(fromYaml.file, path.join(root, 'params.yaml'));
    assert.deepStrictEqual(fromYaml.params, { lr: 0.2, optimizer: 'adam', nested: { a: 1 } });
    fs.writeFileSync(path.join(root, 'params.yaml'), '');
    assert.deepStrictEqual(readParamsFile(script)?.params, {}, 'an empty file means no params');
  });

  it('says what is wrong with a params file', () => {
    fs.writeFileSync(path.join(root, 'params.json'), '{"lr": ');
    assert.throws(() => readParamsFile(script), /params\.json is not valid JSON/);
    fs.writeFileSync(path.join(root, 'params.yml'), '- 1\n- 2\n');
    assert.throws(() => readParamsFile(script), /must hold a mapping of param names to values/);
    fs.writeFileSync(path.join(root, 'params.yml'), 'a: [1,\n');
    assert.throws(() => readParamsFile(script), /params\.yml is not valid YAML/);
  });

  it('parses typed input like lr=0.1 epochs=3, and formats it back', () => {
    assert.deepStrictEqual(parseParamsText('lr=0.1 epochs=3 name=resnet debug=true'), {
      lr: 0.1,
      epochs: 3,
      name: 'resnet',
      debug: true,
    });
    assert.deepStrictEqual(parseParamsText('   '), {});
    assert.match(String(parseParamsText('lr=0.1 oops')), /"oops" is not KEY=VALUE/);
    const params = { lr: 0.1, layers: [64, 32], name: 'resnet' };
    assert.deepStrictEqual(parseParamsText(formatParams(params)), params);
    assert.deepStrictEqual(parseParams(['lr=0.1', 'name=resnet', 'eq=a=b']), { lr: 0.1, name: 'resnet', eq: 'a=b' });
  });
});
