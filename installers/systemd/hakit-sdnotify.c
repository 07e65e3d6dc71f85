/* hakit-sdnotify: forwards systemd notifications for hakitd and hakit-witness.
 *
 * Node cannot send AF_UNIX datagrams, so the daemon starts this program as a long-lived child
 * when systemd gave it a NOTIFY_SOCKET, and writes one notification per line on its stdin
 * ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=..."). Each line becomes one datagram to
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@'). The program exits
 * 0 when stdin closes, that is when the daemon exits or closes the pipe.
 *
 * --pid PID makes each datagram carry PID in its credentials (what sd_pid_notify does), so
 * that systemd credits the daemon itself and the unit can keep NotifyAccess=main. Claiming
 * another process's pid needs CAP_SYS_ADMIN; without it (a DynamicUser witness) the helper
 * sends its own credentials and the unit needs NotifyAccess=all.
 *
 * SIGTERM, SIGINT and SIGHUP are ignored: a stop signal sent to the whole unit (or to the
 * terminal's process group) must not kill the helper before the daemon's STOPPING=1 passes.
 *
 * --fdstore NAME (one shot): hands the descriptor open as fd 3 to systemd's file descriptor
 * store of the unit ("FDSTORE=1", "FDNAME=NAME", the descriptor as SCM_RIGHTS), where it
 * outlives the daemon: a restarted daemon gets it back through LISTEN_FDS/LISTEN_FDNAMES
 * (sd_pid_notify_with_fds(3)). Node cannot pass descriptors, hence this helper. hakitd keeps
 * the /dev/fuse descriptor of each mirror mount there (docs/adr/0009-fuse-mount-survives-daemon.md).
 * --fdstore-remove NAME (one shot): drops the stored descriptors named NAME ("FDSTOREREMOVE=1").
 *
 * usage: hakit-sdnotify [--pid PID] [--fdstore NAME | --fdstore-remove NAME]   (environment: NOTIFY_SOCKET)
 * exit codes: 0 stdin closed (or the one shot sent), 1 the one shot could not be sent,
 *             2 bad usage or no usable NOTIFY_SOCKET
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* systemd reads notifications of up to this size; a longer line is cut (a STATUS text). */
#define MAX_MESSAGE_BYTES 4096

static int parse_pid(const char *text, pid_t *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > 0x3fffffff) return -1;
  *out = (pid_t)v;
  return 0;
}

/* Fills addr from NOTIFY_SOCKET; returns the address length or -1. */
static socklen_t notify_address(const char *name, struct sockaddr_un *addr) {
  size_t n = strlen(name);
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (n < 2 || n >= sizeof(addr->sun_path)) return (socklen_t)-1;
  if (name[0] == '@') {
    addr->sun_path[0] = '\0'; /* abstract namespace: no terminating NUL counted */
    memcpy(addr->sun_path + 1, name + 1, n - 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  }
  if (name[0] != '/') return (socklen_t)-1;
  memcpy(addr->sun_path, name, n);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* One datagram; with pid > 0 it carries that pid in its credentials, with pass_fd >= 0 it
 * carries that descriptor (SCM_RIGHTS). */
static ssize_t send_message(int fd, const struct sockaddr_un *addr, socklen_t len, const char *msg, size_t n, pid_t pid, int pass_fd) {
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = n};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr mh = {.msg_name = (void *)addr, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
  size_t used = 0;
  memset(&control, 0, sizeof(control));
  if (pid > 0) used += CMSG_SPACE(sizeof(struct ucred));
  if (pass_fd >= 0) used += CMSG_SPACE(sizeof(int));
  if (used > 0) {
    mh.msg_control = control.buf;
    mh.msg_controllen = used;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (pid > 0) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_CREDENTIALS;
      c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
      struct ucred cred = {.pid = pid, .uid = getuid(), .gid = getgid()};
      memcpy(CMSG_DATA(c), &cred, sizeof(cred));
      c = CMSG_NXTHDR(&mh, c);
    }
    if (pass_fd >= 0) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
  }
  return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static ssize_t send_with_pid(int fd, const struct sockaddr_un *addr, socklen_t len, const char *msg, size_t n, pid_t pid) {
  return send_message(fd, addr, len, msg, n, pid, -1);
}

/* systemd's rule for FDNAME (fdname_is_valid): 1..255 printable ASCII characters, no ':'. */
static int valid_fdname(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 255) return 0;
  for (const char *p = name; *p; p++)
    if (*p < 0x21 || *p > 0x7e || *p == ':') return 0;
  return 1;
}

/* --fdstore / --fdstore-remove: one datagram, sent with the daemon's pid when allowed. */
static int send_fdstore(int fd, const struct sockaddr_un *addr, socklen_t len, pid_t pid, const char *name, int remove) {
  char msg[300];
  int n = snprintf(msg, sizeof(msg), remove ? "FDSTOREREMOVE=1\nFDNAME=%s" : "FDSTORE=1\nFDNAME=%s", name);
  int pass_fd = remove ? -1 : 3;
  ssize_t r = send_message(fd, addr, len, msg, (size_t)n, pid, pass_fd);
  if (r < 0 && errno == EPERM && pid > 0) r = send_message(fd, addr, len, msg, (size_t)n, 0, pass_fd);
  if (r < 0) {
    fprintf(stderr, "hakit-sdnotify: cannot send %s for %s: %s\n", remove ? "FDSTOREREMOVE" : "FDSTORE", name, strerror(errno));
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  pid_t claim_pid = 0;
  const char *store_name = NULL;
  int store_remove = 0;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) goto usage;
    if (strcmp(argv[i], "--pid") == 0) {
      if (parse_pid(argv[i + 1], &claim_pid) != 0) {
        fprintf(stderr, "hakit-sdnotify: --pid needs a process id, not \"%s\"\n", argv[i + 1]);
        return 2;
      }
    } else if ((strcmp(argv[i], "--fdstore") == 0 || strcmp(argv[i], "--fdstore-remove") == 0) && store_name == NULL) {
      store_name = argv[i + 1];
      store_remove = strcmp(argv[i], "--fdstore-remove") == 0;
      if (!valid_fdname(store_name)) {
        fprintf(stderr, "hakit-sdnotify: \"%s\" is not a valid descriptor name\n", store_name);
        return 2;
      }
    } else {
      goto usage;
    }
  }
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  const char *name = getenv("NOTIFY_SOCKET");
  struct sockaddr_un addr;
  socklen_t addr_len = name ? notify_address(name, &addr) : (socklen_t)-1;
  if (addr_len == (socklen_t)-1) {
    fprintf(stderr, "hakit-sdnotify: NOTIFY_SOCKET is unset or not a socket path or @name\n");
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("hakit-sdnotify: socket");
    return 2;
  }
  if (store_name != NULL) {
    int rc = send_fdstore(fd, &addr, addr_len, claim_pid, store_name, store_remove);
    close(fd);
    return rc;
  }

  static char line[MAX_MESSAGE_BYTES + 2];
  int warned = 0;
  while (fgets(line, sizeof(line), stdin) != NULL) {
    size_t n = strlen(line);
    int complete = n > 0 && line[n - 1] == '\n';
    if (complete) line[--n] = '\0';
    if (!complete && !feof(stdin)) {
      /* Longer than a notification may be: send the head, drop the rest of the line. */
      int ch;
      while ((ch = getchar()) != EOF && ch != '\n') {
      }
    }
    if (n == 0) continue;
    ssize_t r = send_with_pid(fd, &addr, addr_len, line, n, claim_pid);
    if (r < 0 && errno == EPERM && claim_pid > 0) {
      /* No right to speak for the daemon's pid: speak for ourselves from now on. */
      claim_pid = 0;
      r = send_with_pid(fd, &addr, addr_len, line, n, 0);
    }
    if (r < 0 && !warned) {
      /* Keep running: systemd may come back (daemon-reexec) and the daemon keeps writing. */
      fprintf(stderr, "hakit-sdnotify: cannot send to %s: %s\n", name, strerror(errno));
      warned = 1;
    } else if (r >= 0) {
      warned = 0;
    }
  }
  close(fd);
  return 0;
usage:
  fprintf(stderr, "usage: hakit-sdnotify [--pid PID] [--fdstore NAME | --fdstore-remove NAME]   (environment: NOTIFY_SOCKET)\n");
  return 2;
}
