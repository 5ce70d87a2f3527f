import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { manualClock } from '../clock/index.ts';
import { KnownKeyFilter } from './known-keys.ts';
import { networkOf, storedKeyHashes, UnknownKeyGuard } from './unknown-key-guard.ts';

const randomHash = () => randomBytes(32).toString('hex');

describe('KnownKeyFilter', () => {
  test('never says no for a hash it was given; rarely says maybe for one it was not', () => {
    const filter = new KnownKeyFilter(20_000);
    const known = Array.from({ length: 20_000 }, randomHash);
    for (const hash of known) filter.add(hash);
    assert.equal(
      known.every((hash) => filter.mightContain(hash)),
      true,
    );
    let maybes = 0;
    for (let i = 0; i < 100_000; i++) if (filter.mightContain(randomHash())) maybes++;
    // About 0.05% when full; 0.5% is a correctness bound, not a measurement.
    assert.ok(maybes < 500, `${maybes} false positives in 100,000`);
    assert.equal(filter.overCapacity, false);
  });

  test('past its capacity it says so (the owner rebuilds it larger)', () => {
    const filter = new KnownKeyFilter(10);
    for (let i = 0; i <= filter.capacity; i++) filter.add(randomHash());
    assert.equal(filter.overCapacity, true);
  });
});

describe('networkOf', () => {
  test('/24 for IPv4 (mapped IPv6 included), /48 for IPv6, one bucket for none', () => {
    assert.equal(networkOf('203.0.113.7'), '203.0.113.0/24');
    assert.equal(networkOf('::ffff:203.0.113.9'), '203.0.113.0/24');
    assert.equal(networkOf('2001:db8:aa:bb::1'), '2001:db8:aa::/48');
    assert.equal(networkOf(null), 'none');
    assert.equal(networkOf('not an address'), 'invalid');
  });
});

describe('UnknownKeyGuard', () => {
  const loaded = async (hashes: string[], options: { healthy?: () => boolean } = {}) => {
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const guard = new UnknownKeyGuard({
      clock,
      limit: 5,
      windowSeconds: 5,
      holdMs: 50,
      channelHealthy: options.healthy,
    });
    await guard.load(async function* () {
      yield* hashes;
    });
    return { guard, clock };
  };

  test('a known hash is always looked up; unknown ones within the network budget only', async () => {
    const known = randomHash();
    const { guard, clock } = await loaded([known]);
    assert.equal(guard.trusted, true);
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      if ((await guard.admit([randomHash()], '198.51.100.7')) === true) admitted++;
      assert.equal(guard.admit([known], '198.51.100.7'), true, 'the known key, every time');
    }
    assert.equal(admitted, 5, 'the burst, then nothing');
    assert.equal(guard.refusals().get('198.51.100.0/24'), 95);
    assert.equal(guard.admit([randomHash()], '198.51.101.7'), true, 'another network has its own');
    clock.advance(1000);
    assert.equal(guard.admit([randomHash()], '198.51.100.8'), true, 'one more a second');
  });

  test('a key hashed under an older pepper is known by its older hash', async () => {
    const older = randomHash();
    const { guard } = await loaded([older]);
    for (let i = 0; i < 10; i++) assert.equal(guard.admit([randomHash(), older], '::1'), true);
  });

  test('a refused lookup waits for its key-created message, and is looked up when it comes', async () => {
    const { guard } = await loaded([]);
    for (let i = 0; i < 5; i++) assert.equal(guard.admit([randomHash()], '10.0.0.1'), true);
    const fresh = randomHash();
    const held = guard.admit([fresh], '10.0.0.1');
    assert.ok(held instanceof Promise, 'held, not refused at once');
    guard.learn(fresh);
    assert.equal(await held, true);
    assert.equal(guard.admit([fresh], '10.0.0.1'), true, 'and known from now on');
    assert.equal(await guard.admit([randomHash()], '10.0.0.1'), false, 'a forged one times out');
  });

  test('not trusted while the channel is down or after a resync, until reloaded', async () => {
    let healthy = true;
    const { guard } = await loaded([], { healthy: () => healthy });
    healthy = false;
    assert.equal(guard.trusted, false);
    healthy = true;
    guard.distrust();
    assert.equal(guard.trusted, false);
    for (let i = 0; i < 5; i++) guard.admit([randomHash()], '10.0.0.1');
    assert.equal(guard.admit([randomHash()], '10.0.0.1'), false, 'refused at once: no wait');
    await guard.load(async function* () {});
    assert.equal(guard.trusted, true);
  });

  test('while not trusted, a key the filter holds is still looked up, past any budget', async () => {
    // The filter never shrinks: a hit is a real key (or a rare false positive) even when an
    // outage means a miss proves nothing. Real keys must not spend the guessers' budget.
    let healthy = true;
    const known = randomHash();
    const { guard } = await loaded([known], { healthy: () => healthy });
    healthy = false;
    assert.equal(guard.trusted, false);
    for (let i = 0; i < 20; i++) guard.admit([randomHash()], '10.0.0.1');
    assert.equal(guard.admit([randomHash()], '10.0.0.1'), false, 'a forged key: over budget');
    assert.equal(guard.admit([known], '10.0.0.1'), true, 'the real key: looked up');
    guard.distrust();
    assert.equal(guard.admit([known], '10.0.0.1'), true, 'after a resync too');
  });

  test('a hash learnt while the filter loads is in the new filter', async () => {
    const { guard } = await loaded([]);
    const fresh = randomHash();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const loading = guard.load(async function* () {
      yield randomHash();
      await gate;
    });
    guard.learn(fresh);
    release();
    await loading;
    for (let i = 0; i < 10; i++) assert.equal(guard.admit([fresh], '10.0.0.1'), true);
  });

  test('storedKeyHashes pages through every key, newest first', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => ({
      id: `key_${String(i).padStart(5, '0')}`,
      hash: createHash('sha256').update(String(i)).digest('hex'),
    }));
    const pages: number[] = [];
    const store = {
      async list({ limit, beforeId }: { limit: number; beforeId?: string }) {
        const page = keys
          .filter((k) => beforeId === undefined || k.id < beforeId)
          .sort((a, b) => (a.id < b.id ? 1 : -1))
          .slice(0, limit);
        pages.push(page.length);
        return page as never;
      },
    };
    const seen = new Set<string>();
    for await (const hash of storedKeyHashes(store, 1000)) seen.add(hash);
    assert.equal(seen.size, 2500);
    assert.deepEqual(pages, [1000, 1000, 500]);
  });
});
