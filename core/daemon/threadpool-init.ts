// Imported first by every entry point that may mount a FUSE capture: sizes libuv's thread
// pool before its first use (see core/mirror/fuse/threadpool.ts).
import { sizeThreadPool } from '../mirror/fuse/threadpool';

sizeThreadPool();
