# Workload of the mirror benchmark, run as the application would (in PRIM's mount view).
#   seq DIR MIB        -> 1 MiB sequential writes, one fdatasync at the end; prints seconds
#   fsync DIR N MAX_S  -> N x (4 KiB write + fsync); prints per-op latencies in microseconds
import os, sys, time
mode, d = sys.argv[1], sys.argv[2]
if mode == 'seq':
    mib = int(sys.argv[3]); buf = os.urandom(1 << 20)
    fd = os.open(os.path.join(d, 'seq.bin'), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    t = time.perf_counter()
    for _ in range(mib): os.write(fd, buf)
    os.fdatasync(fd); os.close(fd)
    print(time.perf_counter() - t)
else:
    n, max_s = int(sys.argv[3]), float(sys.argv[4]); buf = os.urandom(4096); lat = []
    fd = os.open(os.path.join(d, 'fsync.bin'), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    end = time.perf_counter() + max_s
    for i in range(n):
        t = time.perf_counter(); os.pwrite(fd, buf, i * 4096); os.fsync(fd); lat.append(time.perf_counter() - t)
        if time.perf_counter() > end: break
    os.close(fd)
    print(' '.join(str(int(x * 1e6)) for x in lat))
