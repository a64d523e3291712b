import * as assert from 'assert';
import { checkName, NAME_MAX_LENGTH } from '../../src/protocol/names';

describe('project names', () => {
  it('accepts ordinary names, unicode letters included', () => {
    for (const name of ['churn', 'Churn prediction 2', 'a', 'données_clients', 'v1.2-final', '模型']) {
      assert.strictEqual(checkName('project', name), undefined, name);
    }
  });

  it('explains what is wrong with bad names', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['   ', /empty/],
      [' padded', /spaces/],
      ['x'.repeat(NAME_MAX_LENGTH + 1), /at most 64/],
      ['a/b', /looks like a path/],
      ['..', /looks like a path/],
      ['a\\b', /looks like a path/],
      ['C:thing', /looks like a path/],
      ['.hidden', /not allowed/],
      ['ends.', /not allowed/],
      ['semi;colon', /not allowed/],
      ['new\nline', /not allowed/],
    ];
    for (const [name, expected] of cases) {
      assert.match(checkName('project', name) ?? 'accepted', expected, JSON.stringify(name));
    }
  });
});
