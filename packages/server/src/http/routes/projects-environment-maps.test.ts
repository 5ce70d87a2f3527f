import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

/**
 * `ratelimitDefaults` and `rotationPolicy` are maps keyed by environment (or `*`). A key that
 * is not an environment is refused naming it: the fuzz suite found such keys passing
 * validation unchecked and ending in a 500 (`rules.forEach is not a function`), or silently
 * dropped.
 */
describe('project maps keyed by environment', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  let n = 0;
  const project = (extra: Record<string, unknown>) => {
    n++;
    return { name: `maps-${n}`, prefix: `mp${n}`, environments: ['dev', 'prod'], ...extra };
  };

  for (const [field, value] of [
    ['ratelimitDefaults', { ' ': 'x' }],
    ['ratelimitDefaults', { ' ': [] }],
    ['ratelimitDefaults', { PROD: [{ name: 'rps', limit: 1, windowSeconds: 1 }] }],
    ['rotationPolicy', { 'not an env': 'x' }],
    ['rotationPolicy', { Prod: { maxAgeDays: 30 } }],
  ] as const) {
    const key = Object.keys(value)[0];
    test(`${field} with the key ${JSON.stringify(key)} → 400 naming it, on create and update`, async () => {
      const created = await node.request({
        method: 'POST',
        url: '/v1/projects',
        payload: project({ [field]: value }),
      });
      assert.equal(created.statusCode, 400, created.body);
      assert.equal(created.json().code, 'VALIDATION_FAILED');
      assert.equal(created.json().errors[0].field, `body/${field}/${key}`);
      const patched = await node.request({
        method: 'PATCH',
        url: '/v1/projects/default',
        payload: { [field]: value },
      });
      assert.equal(patched.statusCode, 400, patched.body);
      assert.equal(patched.json().errors[0].field, `body/${field}/${key}`);
    });
  }

  test('environment keys and `*` are still accepted', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: project({
        ratelimitDefaults: { prod: [{ name: 'rps', limit: 10, windowSeconds: 1 }], '*': [] },
        rotationPolicy: { '*': { maxAgeDays: 90 } },
      }),
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(Object.keys(res.json().ratelimitDefaults).sort(), ['*', 'prod']);
  });
});
