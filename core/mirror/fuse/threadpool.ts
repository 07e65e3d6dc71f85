// libuv's thread pool serves every asynchronous file call of the process, and each
// outstanding read of /dev/fuse holds one of its threads until the kernel has a request.
// If the mounts' reads took every thread, file calls (the passthrough's own among them)
// would queue behind idle reads forever. Entry points that may mount call sizeThreadPool()
// before anything uses the pool; every mount claims its readers and is refused, with the
// reason, when that would leave fewer than POOL_THREADS_KEPT_FREE threads for file calls.
import { HakitError } from '../../errors/catalogue';

export const THREADPOOL_SIZE_DEFAULT = 32;
export const POOL_THREADS_KEPT_FREE = 4;
/** libuv's own default when UV_THREADPOOL_SIZE is not set. */
const LIBUV_DEFAULT_THREADS = 4;

let claimed = 0;

/** Sets UV_THREADPOOL_SIZE unless the administrator did. Only effective before the pool's
 *  first use: call it from the first module an entry point imports. */
export function sizeThreadPool(): void {
  process.env.UV_THREADPOOL_SIZE ??= String(THREADPOOL_SIZE_DEFAULT);
}

export function poolThreads(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : LIBUV_DEFAULT_THREADS;
}

export function claimPoolThreads(n: number, where: string): void {
  const size = poolThreads();
  if (claimed + n > size - POOL_THREADS_KEPT_FREE) {
    throw new HakitError('HAKIT_E_MIRROR_MOUNT', `no thread left for another FUSE mount: ${claimed} of the pool's ${size} threads already wait on /dev/fuse and ${POOL_THREADS_KEPT_FREE} stay free for file calls (raise UV_THREADPOOL_SIZE)`, where);
  }
  claimed += n;
}

export function releasePoolThreads(n: number): void {
  claimed = Math.max(0, claimed - n);
}
