// Nagios verdicts and output shapes (pure).
import { nagiosUnreachable, nagiosVerdict, type NagiosModule } from '../../../core/monitor/pure/nagios';
import { collectorView, formatLogLine, lastLines } from '../../../core/monitor/pure/format';

const peer = (state: string | null, status = 'Ready', reachable = true) => ({ node: 'node2', reachable, state, status });
const mirror = (state: string, p: ReturnType<typeof peer>, extra: Partial<NagiosModule> = {}): NagiosModule => ({ module: 'app', mode: 'mirror', state, status: 'Ready', peers: [p], ...extra });

test('mirror: OK in sync, WARNING alone/re-integrating/resource down, CRITICAL when not served', () => {
  expect(nagiosVerdict('node1', [mirror('PRIM', peer('SECOND'))])).toEqual({ code: 0, line: "HAKIT OK - app OK: PRIM on node1, SECOND on node2 | 'app_serving'=1;;;0;2 'app_resources_down'=0;;;0" });
  expect(nagiosVerdict('node1', [mirror('ALONE', peer(null, '', false))]).code).toBe(1);
  expect(nagiosVerdict('node1', [mirror('SECOND', peer('PRIM'), { status: 'Transient' })]).line).toContain('re-integrating');
  expect(nagiosVerdict('node1', [mirror('PRIM', peer('SECOND'), { resources_down: ['ping.gw'] })]).code).toBe(1);
  expect(nagiosVerdict('node1', [mirror('STOP', peer('WAIT'))])).toMatchObject({ code: 2, line: expect.stringMatching(/^HAKIT CRITICAL - app CRITICAL: not served on any node \| /) });
  expect(nagiosVerdict('node1', [mirror('PRIM', peer('PRIM'))]).code).toBe(2);
});

test('farm: OK all UP, WARNING some, CRITICAL none; the worst module decides', () => {
  const farm = (a: string, b: string): NagiosModule => ({ module: 'web', mode: 'farm', state: a, status: 'Ready', peers: [peer(b)] });
  expect(nagiosVerdict('n1', [farm('UP', 'UP')]).code).toBe(0);
  expect(nagiosVerdict('n1', [farm('UP', 'STOP')]).line).toMatch(/^HAKIT WARNING - web WARNING: 1\/2 nodes UP \| 'web_serving'=1;;;0;2/);
  expect(nagiosVerdict('n1', [farm('WAIT', 'STOP')]).code).toBe(2);
  expect(nagiosVerdict('n1', [farm('UP', 'UP'), mirror('ALONE', peer(null, '', false))]).code).toBe(1);
  expect(nagiosVerdict('n1', []).code).toBe(3);
  expect(nagiosUnreachable('connect ENOENT | x')).toEqual({ code: 3, line: 'HAKIT UNKNOWN - hakitd unreachable: connect ENOENT / x' });
});

test('collector view and log formatting', () => {
  const v = collectorView('node1', [{ ...mirror('PRIM', peer('SECOND')), resources: [] }]);
  expect(v.modules[0]).toMatchObject({ module: 'app', health: 'ok', nodes: [{ node: 'node1', state: 'PRIM' }, { node: 'node2', state: 'SECOND', reachable: true }] });
  expect(formatLogLine('{"level":40,"time":"2026-01-01T00:00:00Z","msg":"resource x: down","node":"n","resource":"x"}')).toBe('2026-01-01T00:00:00Z WARN  resource x: down  resource=x');
  expect(formatLogLine('not json')).toBe('not json');
  expect(lastLines('a\nb\nc\n', 2)).toEqual(['b', 'c']);
  expect(lastLines('a\nb\n', 0)).toEqual([]);
});
