import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock } from '../clock/index.ts';
import type { KeyRecord, ProjectRecord } from '../store/index.ts';
import { KeyCache } from './key-cache.ts';

const project = { id: 'prj_1' } as ProjectRecord;
const key = (id: string) => ({ id, projectId: 'prj_1', allowedIps: [] }) as unknown as KeyRecord;

test('entries expire after maxAgeMs, bounding staleness if an invalidation is missed', () => {
  const clock = manualClock(0);
  const cache = new KeyCache({ clock, maxAgeMs: 1000 });
  cache.set('h1', key('k1'), project);
  clock.advance(999);
  assert.ok(cache.get('h1'));
  clock.advance(1);
  assert.equal(cache.get('h1'), undefined);
});

test('invalidateKey drops the entry by key id; invalidateProject drops all of its keys', () => {
  const clock = manualClock(0);
  const cache = new KeyCache({ clock });
  cache.set('h1', key('k1'), project);
  cache.set('h2', key('k2'), project);
  cache.set('h3', key('k3'), { id: 'prj_2' } as ProjectRecord);
  cache.invalidateKey('k1');
  assert.equal(cache.get('h1'), undefined);
  assert.ok(cache.get('h2'));
  cache.invalidateProject('prj_1');
  assert.equal(cache.get('h2'), undefined);
  assert.ok(cache.get('h3'));
});

test('negative entries expire, and forgetMissing clears one at once', () => {
  const clock = manualClock(0);
  const cache = new KeyCache({ clock, negativeTtlMs: 500 });
  cache.rememberMissing('x');
  assert.equal(cache.isKnownMissing('x'), true);
  clock.advance(500);
  assert.equal(cache.isKnownMissing('x'), false);
  cache.rememberMissing('y');
  cache.forgetMissing('y');
  assert.equal(cache.isKnownMissing('y'), false);
});

test('the negative cache is bounded: a flood of random keys cannot grow it without limit', () => {
  const cache = new KeyCache({ clock: manualClock(0), maxNegativeEntries: 100 });
  for (let i = 0; i < 10_000; i++) cache.rememberMissing(`h${i}`);
  assert.equal(cache.size.missing, 100);
});

test('setting a key clears its negative entry', () => {
  const cache = new KeyCache({ clock: manualClock(0) });
  cache.rememberMissing('h1');
  cache.set('h1', key('k1'), project);
  assert.equal(cache.isKnownMissing('h1'), false);
});
