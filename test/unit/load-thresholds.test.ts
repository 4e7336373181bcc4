import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import { Registry } from '../../src/load/metrics.ts';
import { classifyWrite } from '../../src/load/runtime.ts';
import { parseMetricKey, parseThresholds } from '../../src/load/thresholds.ts';

describe('k6 thresholds', () => {
  it('should parse metric keys with tag filters', () => {
    assert.deepEqual(parseMetricKey('http_req_duration{name:write}'), {
      key: 'http_req_duration{name:write}',
      metric: 'http_req_duration',
      filter: { name: 'write' },
    });
    assert.deepEqual(parseMetricKey('http_req_duration{ scenario: a , status:200}').filter, {
      scenario: 'a',
      status: '200',
    });
  });
  it('should parse expressions and the object form', () => {
    const t = parseThresholds({
      'http_req_duration{name:write}': ['p(95)<200', 'p(99.9)<1000'],
      checks: [{ threshold: 'rate>0.99', abortOnFail: true, delayAbortEval: '10s' }],
    });
    assert.deepEqual(
      t.map((x) => [x.metric.key, x.aggregate, x.op, x.bound, x.abortOnFail, x.delayAbortEvalMs]),
      [
        ['http_req_duration{name:write}', 'p(95)', '<', 200, false, 0],
        ['http_req_duration{name:write}', 'p(99.9)', '<', 1000, false, 0],
        ['checks', 'rate', '>', 0.99, true, 10_000],
      ],
    );
  });
  it('should reject bad expressions naming file and field', () => {
    assert.throws(
      () => parseThresholds({ http_req_duration: ['p95 < fast'] }, 'load/x.ts'),
      (e: unknown) =>
        e instanceof UsageError &&
        e.file === 'load/x.ts' &&
        e.field === 'options.thresholds.http_req_duration[0]',
    );
  });
  it('should reject thresholds on unknown metrics and aggregates the type lacks', () => {
    const r = new Registry();
    assert.throws(
      () => r.bindThresholds(parseThresholds({ http_req_duraton: ['p(95)<1'] })),
      /no metric named/,
    );
    assert.throws(() => r.bindThresholds(parseThresholds({ checks: ['p(95)<1'] })), /cannot be used on rate/);
  });
  it('should evaluate submetrics on matching tags only', () => {
    const r = new Registry();
    const t = parseThresholds({
      'http_req_duration{name:write}': ['p(95)<200', 'max<=300'],
      http_req_duration: ['avg<100'],
      http_req_failed: ['rate<0.5'],
      http_reqs: ['count>=4'],
    });
    r.bindThresholds(t);
    const d = r.builtin.http_req_duration;
    d.add(10, { name: 'read' });
    d.add(250, { name: 'write' });
    d.add(300, { name: 'write' });
    d.add(20, { name: 'read' });
    for (let i = 0; i < 4; i++) r.builtin.http_reqs.add(1, {});
    r.builtin.http_req_failed.add(1, {});
    r.builtin.http_req_failed.add(0, {});
    const res = r.evaluate(t, 1000);
    assert.deepEqual(
      res.map((x) => [x.metric, x.expression, x.ok]),
      [
        ['http_req_duration{name:write}', 'p(95)<200', false],
        ['http_req_duration{name:write}', 'max<=300', true],
        ['http_req_duration', 'avg<100', false],
        ['http_req_failed', 'rate<0.5', false],
        ['http_reqs', 'count>=4', true],
      ],
    );
    const sum = r.summary(1000, ['avg', 'p(95)'], res);
    assert.equal(sum['http_req_duration{name:write}']?.values['avg'], 275);
    assert.deepEqual(sum['http_req_duration{name:write}']?.thresholds, {
      'p(95)<200': { ok: false },
      'max<=300': { ok: true },
    });
    assert.deepEqual(sum['http_reqs']?.values, { count: 4, rate: 4 });
  });
  it('should pass a threshold whose metric has no data (as k6)', () => {
    const r = new Registry();
    const t = parseThresholds({ 'http_req_failed{name:write}': ['rate<0.01'] });
    r.bindThresholds(t);
    assert.equal(r.evaluate(t, 1000)[0]!.ok, true);
    assert.equal(r.evaluate(t, 1000)[0]!.value, undefined);
  });
});

describe('write outcomes (the history the sync checks trust)', () => {
  const c = (status: number, body = '', notSent = false) => classifyWrite({ status, body, notSent }, 'w-1');
  it('should class 2xx as ok', () => assert.equal(c(201), 'ok'));
  it('should class a definite refusal as failed: 4xx, 503 claiming nothing, never sent', () => {
    assert.equal(c(400), 'failed');
    assert.equal(c(429), 'failed');
    assert.equal(c(503, '{"error":"cloud unreachable"}'), 'failed');
    assert.equal(c(507, '{"error":"disk full"}'), 'failed', 'the reference agent on a full disk');
    assert.equal(c(0, '', true), 'failed');
  });
  it('should keep timeouts, resets and other 5xx indeterminate', () => {
    assert.equal(c(0), 'indeterminate');
    assert.equal(c(500), 'indeterminate');
    assert.equal(c(502), 'indeterminate');
    assert.equal(c(503, '{"id":"w-1","queued":true}'), 'indeterminate');
    assert.equal(c(507, '{"id":"w-1"}'), 'indeterminate');
  });
});
