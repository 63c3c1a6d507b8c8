#!/usr/bin/env python3
"""Reads prometheus_dump's output with the official Python client's parser
(Debian: python3-prometheus-client) and checks what a scraper relies on:
the text parses whole, the pool-wide durations are histograms with
cumulative buckets ending in +Inf == _count, and a hostile pool name arrives
as one valid label value."""
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

text = subprocess.run([sys.argv[1]], check=True, capture_output=True).stdout.decode('utf-8')  # strict: must be UTF-8
families = {f.name: f for f in text_string_to_metric_families(text)}
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


for name in ('respool_acquire_wait_seconds', 'respool_hold_seconds', 'respool_create_seconds'):
    f = families.get(name)
    check(f is not None and f.type == 'histogram', f'{name} is a histogram')
    if f is None:
        continue
    for pool in sorted({s.labels['pool'] for s in f.samples}):
        buckets = [s for s in f.samples if s.name == name + '_bucket' and s.labels['pool'] == pool]
        count = [s.value for s in f.samples if s.name == name + '_count' and s.labels['pool'] == pool]
        bounds = [float(s.labels['le']) for s in buckets]
        values = [s.value for s in buckets]
        check(len(buckets) == 21, f'{name}{{pool={pool!r}}}: 20 bounds and +Inf, got {len(buckets)}')
        check(bounds == sorted(bounds) and bounds[-1] == float('inf'), f'{name}: le ascending to +Inf')
        check(values == sorted(values), f'{name}{{pool={pool!r}}}: buckets cumulative {values}')
        check(count == [values[-1]], f'{name}{{pool={pool!r}}}: +Inf bucket {values[-1]} == _count {count}')
        check(bounds[0] == 1e-05 and bounds[-2] == 30.0, f'{name}: documented bounds 10 us .. 30 s')

hold = families['respool_hold_seconds']
orders = {s.labels['le']: s.value for s in hold.samples if s.name.endswith('_bucket') and s.labels['pool'] == 'orders'}
# Held: 2 s + 3 ms, 2 s, and five short ones of 0-800 us.
check(orders.get('+Inf') == 7.0, f'orders: 7 holds, got {orders.get("+Inf")}')
check(orders.get('0.001') == 5.0, f'orders: 5 holds within 1 ms, got {orders.get("0.001")}')
check(orders.get('2.5') == 7.0, f'orders: all 7 within 2.5 s, got {orders.get("2.5")}')

pools = {s.labels['pool'] for f in families.values() for s in f.samples if 'pool' in s.labels}
check(pools == {'orders', 'evil\n\ufffd[31mname\ufffd"\\'}, f'pool labels: {pools!r}')
check('\x1b' not in text, 'no raw ESC in the exposition')

for f in failures:
    print('FAIL', f)
print(f'{len(families)} families parsed, {len(failures)} failures')
sys.exit(1 if failures else 0)
