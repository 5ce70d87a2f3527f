import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

describe('projects API', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  test('create, get by id or name, list (management project hidden), update', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'payments', prefix: 'pay', environments: ['test', 'live'] },
    });
    assert.equal(res.statusCode, 201);
    const project = res.json();
    assert.deepEqual(project.environments, ['test', 'live']);
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/projects/payments' })).json().id,
      project.id,
    );
    assert.equal(
      (await node.request({ method: 'GET', url: `/v1/projects/${project.id}` })).json().name,
      'payments',
    );
    const names = (await node.request({ method: 'GET', url: '/v1/projects' }))
      .json()
      .data.map((p: { name: string }) => p.name);
    assert.deepEqual(names.sort(), ['default', 'payments']);
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/projects/_management' })).statusCode,
      404,
    );

    const key = await node.createKey({ project: 'payments', env: 'live' });
    assert.match(key.key, /^pay_live_/);
    const updated = await node.request({
      method: 'PATCH',
      url: '/v1/projects/payments',
      payload: { environments: ['test', 'live', 'sandbox'] },
    });
    assert.deepEqual(updated.json().environments, ['test', 'live', 'sandbox']);
  });

  test('409 for a taken name or prefix; 400 for a reserved or invalid prefix', async () => {
    await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'dup', prefix: 'dup' },
    });
    const name = await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'dup', prefix: 'dupe' },
    });
    assert.equal(name.statusCode, 409);
    assert.equal(name.json().code, 'ALREADY_EXISTS');
    assert.equal(
      (
        await node.request({
          method: 'POST',
          url: '/v1/projects',
          payload: { name: 'dup2', prefix: 'dup' },
        })
      ).statusCode,
      409,
    );
    assert.equal(
      (
        await node.request({
          method: 'POST',
          url: '/v1/projects',
          payload: { name: 'adm', prefix: 'kwadmin' },
        })
      ).statusCode,
      400,
    );
    for (const prefix of ['K', 'x', '9abc', 'a_b', 'abcdefghijklm']) {
      const res = await node.request({
        method: 'POST',
        url: '/v1/projects',
        payload: { name: `p${prefix.length}`, prefix },
      });
      assert.equal(res.statusCode, 400, prefix);
      assert.equal(res.json().errors[0].field, 'body/prefix');
    }
  });

  test('concurrent creates of one name: one 201, the others 409 (never a 500)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        node.request({
          method: 'POST',
          url: '/v1/projects',
          payload: { name: 'race', prefix: `race${i}` },
        }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [201, 409, 409, 409, 409]);
  });

  test('a project with keys cannot be deleted; an empty one can', async () => {
    await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'busy', prefix: 'busy' },
    });
    const { id } = await node.createKey({ project: 'busy' });
    const res = await node.request({ method: 'DELETE', url: '/v1/projects/busy' });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'PROJECT_NOT_EMPTY');
    await node.request({ method: 'DELETE', url: `/v1/keys/${id}` });
    assert.equal(
      (await node.request({ method: 'DELETE', url: '/v1/projects/busy' })).statusCode,
      204,
    );
    assert.equal((await node.request({ method: 'GET', url: '/v1/projects/busy' })).statusCode, 404);
  });

  test('disallowing query keys takes effect at once for cached keys', async () => {
    await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'qk', prefix: 'qk', allowQueryKey: true },
    });
    const { key } = await node.createKey({ project: 'qk' });
    assert.equal((await node.app.inject({ url: `/v1/auth?api_key=${key}` })).statusCode, 200);
    await node.request({
      method: 'PATCH',
      url: '/v1/projects/qk',
      payload: { allowQueryKey: false },
    });
    assert.equal((await node.app.inject({ url: `/v1/auth?api_key=${key}` })).statusCode, 401);
  });
});
