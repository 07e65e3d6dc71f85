// The simulation's command line refuses values it does not know, with a coded error, instead
// of reading them as a default (`--sync-secondary of` used to run with it on).
import { checkOptions, main } from './cli';

describe('sim command line', () => {
  it('refuses an unknown choice or a non-number with HAKIT_E_USAGE naming the option', () => {
    expect(() => checkOptions({ syncSecondary: 'of' })).toThrow(expect.objectContaining({ code: 'HAKIT_E_USAGE', message: expect.stringContaining('--sync-secondary of: expected one of on, off') }));
    expect(() => checkOptions({ fence: 'Ideal' })).toThrow(expect.objectContaining({ code: 'HAKIT_E_USAGE' }));
    expect(() => checkOptions({ seeds: '10x' })).toThrow(expect.objectContaining({ message: expect.stringContaining('--seeds 10x: expected a whole number') }));
    expect(() => checkOptions({ mode: 'farm', seeds: '3', bug: undefined })).not.toThrow();
  });

  it('main answers exit status 2 and runs nothing', () => {
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(main(['--seeds', '1', '--datapath', 'only', '--sync-secondary', 'of'])).toBe(2);
      expect(err).toHaveBeenCalledWith(expect.stringContaining('HAKIT_E_USAGE'));
      expect(log).not.toHaveBeenCalled();
      expect(main(['--seeds', '1', '--datapath', 'only', '--sync-secondary', 'off'])).toBe(0);
    } finally {
      err.mockRestore();
      log.mockRestore();
    }
  });
});
