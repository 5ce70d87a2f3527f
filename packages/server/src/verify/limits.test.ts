import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KeyRecord, OwnerRecord, ProjectRecord } from '../store/index.ts';
import { keyRecord } from '../store/testing/records.ts';
import { limitRequestFor } from './limits.ts';

const minute = { name: 'requests', limit: 100, windowSeconds: 60 };
const second = { name: 'burst', limit: 10, windowSeconds: 1 };

const project = (defaults: ProjectRecord['ratelimitDefaults'] = {}): ProjectRecord => ({
  id: 'prj_1',
  name: 'shop',
  prefix: 'shop',
  environments: ['prod'],
  allowQueryKey: false,
  ratelimitDefaults: defaults,
  rotationPolicy: {},
  revokeOnLeak: false,
  createdAt: 0,
  updatedAt: 0,
});

const key = (overrides: Partial<KeyRecord> = {}): KeyRecord =>
  keyRecord({ id: 'key_1', projectId: 'prj_1', env: 'prod', ownerId: 'own_1', ...overrides });

const owner = (ratelimits: OwnerRecord['ratelimits']): OwnerRecord => ({
  id: 'own_1',
  ratelimits,
  credits: null,
  budgets: null,
  createdAt: 0,
  updatedAt: 0,
});

describe('limitRequestFor', () => {
  test("the key's rules, else its project's defaults, plus its owner's; the cost per call", () => {
    const k = key({ ratelimits: [minute] });
    const request = limitRequestFor(k, project(), owner([second]), 3);
    assert.deepEqual(request, {
      limits: [
        { subject: 'key:key_1', rule: minute },
        { subject: 'owner:own_1', rule: second },
      ],
      credits: null,
      cost: 3,
    });
    const inherited = limitRequestFor(key(), project({ prod: [second] }), null, 1);
    assert.deepEqual(inherited?.limits, [{ subject: 'key:key_1', rule: second }]);
    assert.equal(limitRequestFor(key({ ratelimits: [] }), project(), null, 1), null);
  });

  test('worked out once per record, and again when the project or owner record is replaced', () => {
    const k = key();
    const p = project({ prod: [minute] });
    const o = owner(null);
    const first = limitRequestFor(k, p, o, 1);
    const again = limitRequestFor(k, p, o, 2);
    assert.equal(again?.limits, first?.limits, 'the same plan, reused');
    assert.equal(again?.cost, 2);

    const newOwner = limitRequestFor(k, p, owner([second]), 1);
    assert.deepEqual(
      newOwner?.limits.map((l) => l.subject),
      ['key:key_1', 'owner:own_1'],
    );
    const newProject = limitRequestFor(k, project({ prod: [second] }), owner(null), 1);
    assert.deepEqual(newProject?.limits, [{ subject: 'key:key_1', rule: second }]);
  });
});
