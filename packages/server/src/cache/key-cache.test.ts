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

const withRevision = (id: string, revision: number) => ({ ...key(id), revision }) as KeyRecord;

test('a load that read the row before a change it has since heard of is not cached (issue 15, finding 1)', () => {
  const cache = new KeyCache({ clock: manualClock(0) });
  // Node B starts loading; node A revokes meanwhile (revision 7); B hears of it; B's load,
  // which read revision 6, completes.
  const ticket = cache.beginLoad();
  cache.invalidateKey('k1', 7);
  assert.equal(cache.set('h1', withRevision('k1', 6), project, ticket), null);
  assert.equal(cache.get('h1'), undefined);
  // A read that already saw the change (revision 7) is kept.
  assert.ok(cache.set('h1', withRevision('k1', 7), project, ticket));
  assert.equal(cache.lastAppliedRevision, 7);
});

test('an invalidation without a revision (a deletion) supersedes any load older than it', () => {
  const cache = new KeyCache({ clock: manualClock(0) });
  cache.invalidateKey('k1', 3);
  const ticket = cache.beginLoad();
  cache.invalidateKey('k1');
  assert.equal(cache.set('h1', withRevision('k1', 9), project, ticket), null);
  // A load that starts after it is cached.
  assert.ok(cache.set('h1', withRevision('k1', 9), project, cache.beginLoad()));
  // A record older than any revision heard of is never cached, whenever its load started.
  cache.invalidateKey('k2', 12);
  assert.equal(cache.set('h2', withRevision('k2', 11), project, cache.beginLoad()), null);
});

test('a project change or a resync during a load supersedes it; other keys are unaffected', () => {
  const cache = new KeyCache({ clock: manualClock(0) });
  const ticket = cache.beginLoad();
  cache.invalidateKey('other', 5);
  assert.ok(cache.set('h1', withRevision('k1', 1), project, ticket), 'another key changed');
  const second = cache.beginLoad();
  cache.invalidateProject('prj_1');
  assert.equal(cache.set('h2', withRevision('k2', 1), project, second), null);
  const third = cache.beginLoad();
  cache.resync();
  assert.equal(cache.set('h3', withRevision('k3', 1), project, third), null);
});

test('a key created during a load that found nothing is not remembered as missing', () => {
  const cache = new KeyCache({ clock: manualClock(0) });
  const ticket = cache.beginLoad();
  cache.forgetMissing('h1');
  cache.rememberMissing('h1', ticket);
  assert.equal(cache.isKnownMissing('h1'), false);
  cache.rememberMissing('h1', cache.beginLoad());
  assert.equal(cache.isKnownMissing('h1'), true);
});

test('a resync marks entries for revalidation instead of dropping them (issue 15, finding 3)', () => {
  const clock = manualClock(0);
  const cache = new KeyCache({ clock, maxAgeMs: 30_000, revocationBoundMs: 30_000 });
  cache.set('h1', key('k1'), project);
  clock.advance(1000);
  cache.channelLost(0);
  clock.advance(2000);
  cache.resync();
  assert.equal(cache.get('h1'), undefined, 're-read before it serves fresh');
  assert.ok(cache.getStale('h1', 300_000), 'but it serves while the store fails');
  // Known current up to the loss (t = 1 s): served stale until 1 s + the bound, not later.
  clock.set(1000 + 29_999);
  assert.ok(cache.getStale('h1', 300_000));
  clock.set(1000 + 30_000);
  assert.equal(cache.getStale('h1', 300_000), undefined);
  // Reloaded from the store: fresh again.
  cache.set('h1', key('k1'), project);
  assert.ok(cache.get('h1'));
});

test('a node that hears nothing serves nothing past the revocation bound (issue 15, finding 5)', () => {
  const clock = manualClock(0);
  const cache = new KeyCache({ clock, maxAgeMs: 30_000, revocationBoundMs: 10_000 });
  cache.set('h1', key('k1'), project);
  // Hearing: stale-if-error runs its full window.
  clock.set(200_000);
  assert.ok(cache.getStale('h1', 300_000));
  assert.equal(cache.get('h1'), undefined);
  // Fresh entry, channel lost 2 s before it was noticed: the bound counts from then.
  cache.set('h1', key('k1'), project);
  clock.advance(5000);
  cache.channelLost(2000);
  assert.ok(cache.get('h1'), 'within its age and the bound');
  // Known current until the loss (t = 203 s): served until 213 s.
  clock.advance(7999);
  assert.ok(cache.get('h1'));
  assert.ok(cache.getStale('h1', 300_000));
  clock.advance(1);
  assert.equal(cache.get('h1'), undefined, 'not fresh past the bound, though within its age');
  assert.equal(cache.getStale('h1', 300_000), undefined, 'and not stale either: 503');
  // Read from the store meanwhile (it answers): current as of that read.
  cache.set('h1', key('k1'), project);
  clock.advance(9999);
  assert.ok(cache.get('h1'));
  clock.advance(1);
  assert.equal(cache.getStale('h1', 300_000), undefined);
});
