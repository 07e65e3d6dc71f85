/* The systemd side of the notify socket, for tests: binds an AF_UNIX datagram socket (a
 * path, or an abstract name written with a leading '@'), asks for the senders' credentials,
 * prints "ready" once bound, then one line per datagram: "pid=<sender pid> <payload>", with
 * newlines inside the payload shown as "\n". Exits 0 after MAX_SECONDS or on SIGTERM.
 *
 * usage: notify-receiver SOCKET MAX_SECONDS
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: notify-receiver SOCKET MAX_SECONDS\n");
    return 2;
  }
  const char *name = argv[1];
  long max_s = strtol(argv[2], NULL, 10);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  if (n < 2 || n >= sizeof(addr.sun_path)) return 2;
  socklen_t len;
  if (name[0] == '@') {
    memcpy(addr.sun_path + 1, name + 1, n - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    memcpy(addr.sun_path, name, n);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 || bind(fd, (struct sockaddr *)&addr, len) != 0) {
    perror("notify-receiver");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  time_t end = time(NULL) + max_s;
  char buf[8192];
  while (time(NULL) < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0) continue;
    union {
      struct cmsghdr align;
      char b[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b, .msg_controllen = sizeof(control.b)};
    ssize_t r = recvmsg(fd, &mh, 0);
    if (r < 0) continue;
    buf[r] = '\0';
    pid_t pid = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cred;
        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        pid = cred.pid;
      }
    }
    printf("pid=%d ", (int)pid);
    for (ssize_t i = 0; i < r; i++) {
      if (buf[i] == '\n') fputs("\\n", stdout);
      else putchar(buf[i]);
    }
    putchar('\n');
    fflush(stdout);
  }
  if (name[0] != '@') unlink(name);
  return 0;
}
