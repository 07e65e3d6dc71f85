// The lab starts hakitd and hakit-witness from the package's unit files: the parts of a unit
// it reads and systemd's expansion of ExecStart (test/lab/pure/unit-file.ts), checked on the
// real unit files of installers/systemd.
import fs from 'node:fs';
import path from 'node:path';
import { expandExecStart, parseEnvironmentFile, parseServiceStart, splitWords } from './pure/unit-file';

const UNITS = path.resolve(__dirname, '..', '..', 'installers', 'systemd');
const read = (name: string): string => fs.readFileSync(path.join(UNITS, name), 'utf8');

describe('unit files as the lab reads them', () => {
  it('hakitd: /usr/sbin/hakitd with the words of $HAKITD_OPTS from the optional /etc/default/hakit', () => {
    const start = parseServiceStart(read('hakitd.service'));
    expect(start.environmentFiles).toEqual([{ path: '/etc/default/hakit', optional: true }]);
    const env = parseEnvironmentFile('# options\nHAKITD_OPTS="--node node1 --log-level debug"\n');
    expect(expandExecStart(start.execStart, env)).toEqual(['/usr/sbin/hakitd', '--node', 'node1', '--log-level', 'debug']);
    expect(expandExecStart(start.execStart, {})).toEqual(['/usr/sbin/hakitd']);
  });

  it('hakit-witness: ${VAR} as one word, %S and %L as /var/lib and /var/log', () => {
    const start = parseServiceStart(read('hakit-witness.service'));
    expect(start.environmentFiles).toEqual([{ path: '/etc/default/hakit-witness', optional: false }]);
    const env = parseEnvironmentFile("HAKIT_WITNESS_ADDRESS=198.18.0.202\nHAKIT_WITNESS_KEY_FILE='/etc/hakit/cluster.key'\nHAKIT_WITNESS_OPTS=\"--node node1=198.18.0.1 --node node2=198.18.0.2\"\n");
    expect(expandExecStart(start.execStart, env)).toEqual([
      '/usr/sbin/hakit-witness', '--address', '198.18.0.202', '--key-file', '/etc/hakit/cluster.key',
      '--state-dir', '/var/lib/hakit-witness', '--log-dir', '/var/log/hakit-witness',
      '--node', 'node1=198.18.0.1', '--node', 'node2=198.18.0.2',
    ]);
  });
});

describe('unit file parsing', () => {
  it('splits words with quotes and escapes', () => {
    expect(splitWords(`a "b c" 'd e' f\\ g`)).toEqual(['a', 'b c', 'd e', 'f g']);
    expect(() => splitWords('a "b')).toThrow(/unterminated/);
  });

  it('reads Environment= assignments and only the [Service] section', () => {
    const s = parseServiceStart('[Unit]\nExecStart=/not/this\n[Service]\nEnvironment=A=1 "B=two words"\nExecStart=/usr/sbin/x $A\n');
    expect(s.environment).toEqual({ A: '1', B: 'two words' });
    expect(expandExecStart(s.execStart, s.environment)).toEqual(['/usr/sbin/x', '1']);
  });

  it('refuses what the lab cannot run like systemd', () => {
    expect(() => parseServiceStart('[Service]\nType=notify\n')).toThrow(/0 ExecStart/);
    expect(() => parseServiceStart('[Service]\nExecStart=-/usr/sbin/x\n')).toThrow(/prefixes/);
    expect(() => expandExecStart('/usr/sbin/x %Z', {})).toThrow(/%Z/);
    expect(() => expandExecStart('x', {})).toThrow(/absolute/);
  });

  it('ignores comments and blank lines of an environment file', () => {
    expect(parseEnvironmentFile('\n# c\n; c\nexport A = 1\nB="x y"\nnot an assignment\n')).toEqual({ A: '1', B: 'x y' });
  });
});
