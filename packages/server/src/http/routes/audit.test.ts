import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

describe('GET /v1/audit', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  test('filters by action, target, result and time, and pages with a cursor', async () => {
    const start = new Date().toISOString();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await node.createKey({ name: `a${i}` })).id);
    await node.request({ method: 'POST', url: `/v1/keys/${ids[0]}/revoke` });

    const revokes = (
      await node.request({ method: 'GET', url: '/v1/audit?action=key.revoke' })
    ).json().data;
    assert.equal(revokes.length, 1);
    assert.equal(revokes[0].targetId, ids[0]);
    const creates = (
      await node.request({ method: 'GET', url: `/v1/audit?action=key.create&from=${start}` })
    ).json();
    assert.equal(creates.data.length, 4);
    const page1 = (
      await node.request({
        method: 'GET',
        url: `/v1/audit?action=key.create&from=${start}&limit=3`,
      })
    ).json();
    assert.equal(page1.data.length, 3);
    const page2 = (
      await node.request({
        method: 'GET',
        url: `/v1/audit?action=key.create&from=${start}&limit=3&cursor=${page1.nextCursor}`,
      })
    ).json();
    assert.equal(page2.data.length, 1);
    assert.equal(page2.nextCursor, null);
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/audit?result=denied' })).json().data.length,
      0,
    );
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/audit?from=yesterday' })).statusCode,
      400,
    );
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/audit?cursor=abc' })).statusCode,
      400,
    );
  });
});
