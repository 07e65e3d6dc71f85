// Minimal types for fuse-native 2.x (the package ships none). Only what the capture uses.
declare module 'fuse-native' {
  type Cb = (code: number, ...rest: unknown[]) => void;
  class Fuse {
    constructor(mnt: string, ops: Record<string, (...args: never[]) => void>, opts?: Record<string, unknown>);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    _fuseOptions(): string;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static readonly ENOENT: number;
    static readonly EIO: number;
    static readonly EPERM: number;
  }
  export = Fuse;
  export type { Cb };
}
