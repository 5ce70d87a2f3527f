import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHighEntropySecret, isPlaceholder, looksLikeWords, shannonEntropy } from './entropy.ts';

describe('shannonEntropy', () => {
  it('is exact on known inputs', () => {
    assert.equal(shannonEntropy(''), 0);
    assert.equal(shannonEntropy('aaaa'), 0);
    assert.equal(shannonEntropy('ab'), 1);
    assert.equal(shannonEntropy('abcd'), 2);
    assert.equal(shannonEntropy('0123456789abcdef'), 4);
    assert.ok(Math.abs(shannonEntropy('aab') - 0.9183) < 1e-4);
  });
});

describe('isHighEntropySecret', () => {
  it('accepts random values of the usual alphabets', () => {
    for (const value of [
      'q8Zr2LmX5vN7pK1tW4yB9cD3',
      'Zx9QkT3mV7pL2wR8nB4cY6hJ1sD5fG0a',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4',
      '0f8fe3c2-2b6f-4a3e-9d7c-6f2a1c0e9b8d',
      'dGhpcyBpcyBub3QgYSBzZWNyZXQ1MjM0NTY3OA+/=',
    ]) {
      assert.equal(isHighEntropySecret(value), true, value);
    }
  });

  it('refuses short, wordy, placeholder and path-like values', () => {
    for (const value of [
      'short1',
      'abcdefghijklmnopqrstuvwxyz',
      '12345678901234567890',
      'my_super_secret_value_2024',
      'computeTheLongFunctionName2',
      'Password1234567890',
      'your-api-key-goes-here-123',
      'changeme-changeme-1234',
      'xxxxxxxxxxxxxxxxxxxx1',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder, on purpose
      '${SECRET_FROM_ENV_VAR_1}',
      '<client-secret-value-1>',
      'https://example.com/a1b2c3d4e5',
      './config/secrets/prod-1.json',
      'two words 1234567890abcdef',
      'a1'.repeat(10),
      'abcdefg12345-._~+/=',
      'urn:uuid:a515cfa4-5da4-22e1-f5b5-00a0451e6bf7',
      'Xq9ABCDEFzT4mW2pL8vR',
    ]) {
      assert.equal(isHighEntropySecret(value), false, value);
    }
  });

  it('honours a custom minimum length and threshold', () => {
    const value = 'q8Zr2LmX5vN7pK1tW4yB';
    assert.equal(isHighEntropySecret(value), true);
    assert.equal(isHighEntropySecret(value, { minLength: 24 }), false);
    // 20 distinct characters: log2(20) ≈ 4.32 bits, against 4.5 × 4.32 / 5 ≈ 3.9 needed.
    assert.equal(isHighEntropySecret(value, { entropyThreshold: 4.5 }), true);
    // 32 distinct characters: exactly 5 bits.
    const thirtyTwo = 'q8Zr2LmX5vN7pK1tW4yB9cD3fG6hJ0sA';
    assert.equal(isHighEntropySecret(thirtyTwo, { entropyThreshold: 5 }), true);
    assert.equal(isHighEntropySecret(thirtyTwo, { entropyThreshold: 5.5 }), false);
  });

  it('classifies placeholders and words', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder, on purpose
    assert.equal(isPlaceholder('${API_KEY}'), true);
    assert.equal(isPlaceholder('{{ token }}'), true);
    assert.equal(isPlaceholder('process.env.TOKEN'), true);
    assert.equal(isPlaceholder('q8Zr2LmX5vN7pK1t'), false);
    assert.equal(looksLikeWords('billing-api-v2'), true);
    assert.equal(looksLikeWords('q8Zr2LmX5vN7pK1t'), false);
  });
});
