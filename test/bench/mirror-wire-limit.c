/*
 * The physical limit of a user-space replicator on this machine, for the mirror benchmark:
 * the fastest a minimal program (not hakit) writes bytes locally, sends them over TCP and
 * has them written and synced on the other node. No framing beyond a length, no checks,
 * no authentication: a ceiling, not a product.
 *
 *   recv PORT DIR           serve one connection at a time: each transfer is a header
 *                           {u32 kind, u32 count, u64 bytes}, then data; written into
 *                           DIR/wire.bin, fdatasync'ed, then one byte back (the ack)
 *   seq HOST PORT DIR MIB   MIB x 1 MiB: pwrite to DIR/wire-local.bin, then sendfile of the
 *                           same range to the socket (page cache -> socket, no user copy);
 *                           fdatasync locally while the peer writes and syncs; wait the ack.
 *                           Prints {"seconds": S}
 *   ops HOST PORT DIR N     N x (4 KiB pwrite locally, send, peer pwrite + fdatasync, ack),
 *                           the local fdatasync overlapping the round trip. Prints
 *                           {"ops_per_s": R}
 * Receiving side: splice(socket -> pipe -> file), zero-copy, pipe of 1 MiB; sockets with
 * 4 MiB buffers and TCP_NODELAY.
 * Build: cc -O2 -o mirror-wire-limit mirror-wire-limit.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define SOCKBUF (4 * MIB)

struct hdr { uint32_t kind; uint32_t count; uint64_t bytes; };

static void die(const char *what) { perror(what); exit(1); }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void tune(int s) {
  int v = SOCKBUF, one = 1;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void readn(int fd, void *b, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)b + got, n - got);
    if (r <= 0) { if (r < 0 && errno == EINTR) continue; die("read"); }
    got += (size_t)r;
  }
}

static void writen(int fd, const void *b, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = write(fd, (const char *)b + done, n - done);
    if (r <= 0) { if (r < 0 && errno == EINTR) continue; die("write"); }
    done += (size_t)r;
  }
}

static int serve(int port, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/wire.bin", dir);
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4) < 0) die("listen");
  printf("{\"listening\": %d}\n", port);
  fflush(stdout);
  int p[2];
  if (pipe(p) < 0) die("pipe");
  fcntl(p[1], F_SETPIPE_SZ, MIB);
  char *buf = malloc(MIB);
  for (;;) {
    int s = accept(ls, NULL, NULL);
    if (s < 0) continue;
    tune(s);
    struct hdr h;
    for (;;) {
      ssize_t r = recv(s, &h, sizeof h, MSG_WAITALL);
      if (r != (ssize_t)sizeof h) break;
      int fd = open(path, O_CREAT | O_WRONLY | (h.kind == 0 ? O_TRUNC : 0), 0644);
      if (fd < 0) die("open");
      if (h.kind == 0) {
        /* bulk: splice socket -> pipe -> file, no copy through user space */
        loff_t off = 0;
        uint64_t left = h.bytes;
        while (left > 0) {
          ssize_t in = splice(s, NULL, p[1], NULL, left < MIB ? left : MIB, SPLICE_F_MOVE | SPLICE_F_MORE);
          if (in <= 0) die("splice in");
          ssize_t out = 0;
          while (out < in) {
            ssize_t w = splice(p[0], NULL, fd, &off, (size_t)(in - out), SPLICE_F_MOVE);
            if (w <= 0) die("splice out");
            out += w;
          }
          left -= (uint64_t)in;
        }
        fdatasync(fd);
        writen(s, "A", 1);
      } else {
        /* ops: count x 4 KiB records, each written, synced and acknowledged */
        for (uint32_t i = 0; i < h.count; i++) {
          readn(s, buf, 4096);
          if (pwrite(fd, buf, 4096, (off_t)i * 4096) != 4096) die("pwrite");
          fdatasync(fd);
          writen(s, "A", 1);
        }
      }
      close(fd);
    }
    close(s);
  }
}

static int dial(const char *host, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  tune(s);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return s;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "recv")) return serve(atoi(argv[2]), argv[3]);
  if (argc != 6) { fprintf(stderr, "usage: recv PORT DIR | seq HOST PORT DIR MIB | ops HOST PORT DIR N\n"); return 2; }
  int s = dial(argv[2], atoi(argv[3]));
  char path[4096];
  snprintf(path, sizeof path, "%s/wire-local.bin", argv[4]);
  long n = atol(argv[5]);
  char *buf = aligned_alloc(4096, MIB);
  for (int i = 0; i < MIB; i++) buf[i] = (char)rand();
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) die("open");
  char ack;
  if (!strcmp(argv[1], "seq")) {
    double t0 = now_s();
    struct hdr h = { 0, 0, (uint64_t)n * MIB };
    writen(s, &h, sizeof h);
    for (long i = 0; i < n; i++) {
      if (pwrite(fd, buf, MIB, (off_t)i * MIB) != MIB) die("pwrite");
      off_t off = (off_t)i * MIB;
      size_t left = MIB;
      while (left > 0) {
        ssize_t w = sendfile(s, fd, &off, left);
        if (w <= 0) die("sendfile");
        left -= (size_t)w;
      }
    }
    fdatasync(fd);
    readn(s, &ack, 1);
    printf("{\"seconds\": %.6f}\n", now_s() - t0);
  } else {
    struct hdr h = { 1, (uint32_t)n, (uint64_t)n * 4096 };
    writen(s, &h, sizeof h);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
      if (pwrite(fd, buf, 4096, (off_t)i * 4096) != 4096) die("pwrite");
      writen(s, buf, 4096);
      fdatasync(fd);
      readn(s, &ack, 1);
    }
    printf("{\"ops_per_s\": %.1f}\n", n / (now_s() - t0));
  }
  close(fd);
  close(s);
  return 0;
}
