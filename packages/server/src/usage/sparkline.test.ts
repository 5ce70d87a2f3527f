import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderSparkline, renderUsageChart } from './sparkline.ts';

describe('renderSparkline', () => {
  test('scales from the smallest value (▁) to the largest (█)', () => {
    assert.equal(renderSparkline([0, 1, 2, 3, 4, 5, 6, 7], 80), '▁▂▃▄▅▆▇█');
    assert.equal(renderSparkline([10, 80, 10], 80), '▁█▁');
    assert.equal(renderSparkline([100, 150, 200], 80), '▁▅█');
  });

  test('a flat line sits at the bottom when zero, in the middle otherwise', () => {
    assert.equal(renderSparkline([0, 0, 0], 10), '▁▁▁');
    assert.equal(renderSparkline([5, 5], 10), '▄▄');
  });

  test('more values than width are merged, keeping each column’s peak', () => {
    const values = Array.from({ length: 100 }, () => 1);
    values[37] = 50;
    const line = renderSparkline(values, 10);
    assert.equal([...line].length, 10);
    assert.equal(line, '▁▁▁█▁▁▁▁▁▁');
  });

  test('empty input, zero width and non-finite values', () => {
    assert.equal(renderSparkline([], 10), '');
    assert.equal(renderSparkline([1, 2], 0), '');
    assert.equal(renderSparkline([Number.NaN, 7, Number.POSITIVE_INFINITY], 5), '▁█▁');
  });
});

describe('renderUsageChart', () => {
  test('fills the buckets left out of the answer with 0 and adds up outcomes', () => {
    const chart = renderUsageChart(
      {
        granularity: 'hour',
        from: '2030-01-01T00:00:00.000Z',
        to: '2030-01-01T04:00:00.000Z',
        data: [
          { start: '2030-01-01T01:00:00.000Z', count: 3 },
          { start: '2030-01-01T01:00:00.000Z', count: 5 },
          { start: '2030-01-01T03:00:00.000Z', count: 4 },
        ],
      },
      40,
    );
    assert.equal(chart, '▁█▁▅  min 0  max 8');
  });

  test('an empty range draws nothing', () => {
    const at = '2030-01-01T00:30:00.000Z';
    assert.equal(renderUsageChart({ granularity: 'hour', from: at, to: at, data: [] }, 40), '');
  });
});
