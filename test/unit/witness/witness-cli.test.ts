// hakit-witness's options: a value it cannot use is refused at start with a coded error,
// before anything is bound or written (a NaN lease started a witness that granted nothing).
import { main } from '../../../core/witness/main';

let err = '';
beforeEach(() => {
  err = '';
  jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => jest.restoreAllMocks());

test.each([['5s'], ['0'], ['-1'], ['1.5'], ['60000']])('--lease-ms %s is refused (HAKIT_E_USAGE), exit 1', async (v) => {
  expect(await main(['--address', '127.0.0.1', '--key-file', '/nonexistent/key', '--lease-ms', v])).toBe(1);
  expect(err).toContain('HAKIT_E_USAGE: hakit-witness: --lease-ms');
});

test('--port outside 1..65535 is refused', async () => {
  expect(await main(['--address', '127.0.0.1', '--key-file', '/nonexistent/key', '--port', '70000'])).toBe(1);
  expect(err).toContain('HAKIT_E_USAGE: hakit-witness: --port');
});
