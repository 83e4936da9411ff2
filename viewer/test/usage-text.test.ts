// The viewer's usage line: valid totals read as a person expects; a turn's usage read raw from a trace (the
// viewer folds events before the worker has validated them) shows only its valid values, and never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { turnUsage, usageText } from '../src/ui/usage-text.ts';

test('totals: tokens with their parts, cost per currency, the context window', () => {
  assert.equal(
    usageText({ turns: 2, tokens: { inputTokens: 3500, outputTokens: 750, totalTokens: 4250 }, cost: [{ currency: 'EUR', amount: 2 }, { currency: 'USD', amount: 0.0211 }], context: { used: 2410, size: 200000 } }),
    '4,250 tokens (3,500 in, 750 out), 2.00 EUR + 0.0211 USD · context 2,410 of 200,000 (1%)',
  );
  assert.equal(usageText({ turns: 1, tokens: { inputTokens: 5, outputTokens: 1 } }), '6 tokens (5 in, 1 out)');
  assert.equal(usageText({ turns: 1 }), undefined);
  assert.equal(usageText(undefined), undefined);
});

test('a turn read raw: anything malformed shows nothing and never throws', () => {
  const hostile: unknown[] = [
    'a string', null, 42, [1, 2], {},
    { tokens: 'many', cost: 'lots', context: [] },
    { tokens: { inputTokens: '<img src=x onerror=alert(1)>', outputTokens: -5, totalTokens: Infinity } },
    { cost: { amount: 'lots', currency: 'USD' } },
    { cost: { amount: 1, currency: '<script>alert(1)</script>' } },
    { cost: [{ amount: 1, currency: 'USD' }] },
    { context: { used: 1e308, size: 0 } },
    { context: { used: 5, size: -1 } },
  ];
  for (const raw of hostile) assert.equal(usageText(turnUsage(raw)), undefined, JSON.stringify(raw));
  // A partly valid one shows its valid part only.
  assert.equal(usageText(turnUsage({ tokens: { inputTokens: 'x', outputTokens: 7 }, cost: { amount: -1, currency: 'USD' } })), '7 tokens (7 out)');
});
