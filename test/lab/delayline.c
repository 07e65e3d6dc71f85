/* hakit lab delay line: the kernel here has no netem, so this program stands between a
 * host's veth peer (HOST_IF, taken off the bridge) and a veth whose other end is the bridge
 * port (LINE_IF). Frames the host sends are held DELAY_MS then passed on; frames towards the
 * host pass at once. Netem semantics: the host's egress is delayed, so ping RTT grows by MS.
 *
 * PACKET_VNET_HDR keeps checksum-offload and GSO metadata with each frame: without it, TCP
 * and UDP frames read from a veth carry unfinished checksums and would be dropped.
 * PACKET_IGNORE_OUTGOING stops a socket from reading back the frames it writes.
 *
 * usage: delayline HOST_IF LINE_IF DELAY_MS      (prints "ready" once both sockets listen)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Named limits: the queue is bounded in frames and bytes; beyond them frames are dropped
 * (a real link's buffer overflows too) and counted. */
#define MAX_QUEUED_FRAMES 65536
#define MAX_QUEUED_BYTES (64u * 1024u * 1024u)
/* vnet header + the largest GSO frame a veth hands over (64 KiB) + slack. */
#define FRAME_BUF_BYTES (sizeof(struct virtio_net_hdr) + 65536 + 512)
/* Frames read per wakeup and side, so one busy side cannot starve the other. */
#define READ_BURST 256
#define MAX_DELAY_MS 60000

struct frame {
  uint64_t release_ns;
  uint32_t len;
  unsigned char *bytes;
};

static struct frame queue[MAX_QUEUED_FRAMES];
static size_t q_head, q_count, q_bytes;
static unsigned long long dropped_full, send_errors;
static unsigned char buf[FRAME_BUF_BYTES];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "delayline: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int open_port(const char *ifname) {
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) die(ifname);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) die("socket");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) die("PACKET_VNET_HDR");
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) die("PACKET_IGNORE_OUTGOING");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) die("PACKET_MR_PROMISC");
  return fd;
}

static void send_frame(int fd, const unsigned char *bytes, size_t len) {
  if (send(fd, bytes, len, 0) < 0) send_errors++;
}

static void enqueue(const unsigned char *bytes, size_t len, uint64_t release_ns) {
  if (q_count == MAX_QUEUED_FRAMES || q_bytes + len > MAX_QUEUED_BYTES) {
    dropped_full++;
    return;
  }
  unsigned char *copy = malloc(len);
  if (copy == NULL) {
    dropped_full++;
    return;
  }
  memcpy(copy, bytes, len);
  struct frame *f = &queue[(q_head + q_count) % MAX_QUEUED_FRAMES];
  f->release_ns = release_ns;
  f->len = (uint32_t)len;
  f->bytes = copy;
  q_count++;
  q_bytes += len;
}

static void release_due(int out_fd, uint64_t now) {
  while (q_count > 0 && queue[q_head].release_ns <= now) {
    struct frame *f = &queue[q_head];
    send_frame(out_fd, f->bytes, f->len);
    free(f->bytes);
    q_bytes -= f->len;
    q_head = (q_head + 1) % MAX_QUEUED_FRAMES;
    q_count--;
  }
}

/* Reads up to READ_BURST frames; delay_ns 0 forwards at once. Returns -1 when the port died. */
static int pump(int in_fd, int out_fd, uint64_t delay_ns) {
  for (int i = 0; i < READ_BURST; i++) {
    ssize_t n = recv(in_fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      if (errno == ENETDOWN) return 0;
      return -1;
    }
    if (delay_ns == 0) send_frame(out_fd, buf, (size_t)n);
    else enqueue(buf, (size_t)n, now_ns() + delay_ns);
  }
  return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: delayline HOST_IF LINE_IF DELAY_MS\n");
    return 2;
  }
  char *end;
  long delay_ms = strtol(argv[3], &end, 10);
  if (*end != '\0' || delay_ms < 0 || delay_ms > MAX_DELAY_MS) {
    fprintf(stderr, "delayline: DELAY_MS must be 0..%d\n", MAX_DELAY_MS);
    return 2;
  }
  uint64_t delay_ns = (uint64_t)delay_ms * 1000000ull;
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGPIPE, SIG_IGN);
  int host_fd = open_port(argv[1]);
  int line_fd = open_port(argv[2]);
  printf("ready\n");
  fflush(stdout);

  struct pollfd fds[2] = {{.fd = host_fd, .events = POLLIN}, {.fd = line_fd, .events = POLLIN}};
  while (!stop) {
    uint64_t now = now_ns();
    release_due(line_fd, now);
    struct timespec wait, *waitp = NULL;
    if (q_count > 0) {
      uint64_t left = queue[q_head].release_ns > now ? queue[q_head].release_ns - now : 0;
      wait.tv_sec = (time_t)(left / 1000000000ull);
      wait.tv_nsec = (long)(left % 1000000000ull);
      waitp = &wait;
    }
    int r = ppoll(fds, 2, waitp, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    if ((fds[0].revents & (POLLERR | POLLNVAL)) || (fds[1].revents & (POLLERR | POLLNVAL))) break;
    if ((fds[0].revents & POLLIN) && pump(host_fd, line_fd, delay_ns) < 0) break;
    if ((fds[1].revents & POLLIN) && pump(line_fd, host_fd, 0) < 0) break;
  }
  fprintf(stderr, "delayline: exit; queued %zu, dropped (queue full) %llu, send errors %llu\n", q_count, dropped_full, send_errors);
  return 0;
}
