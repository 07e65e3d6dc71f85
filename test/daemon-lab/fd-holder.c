/* fd-holder: the part of systemd that the lab has no PID 1 for. It runs one service the way
 * hakitd.service does (Type=notify, Restart=on-failure, RestartForceExitStatus=75) and keeps
 * its file descriptor store:
 *  - it listens on a datagram socket that it gives the service as NOTIFY_SOCKET;
 *  - "FDSTORE=1" + "FDNAME=N" with descriptors (SCM_RIGHTS) stores them under N (a name
 *    stored again replaces the older descriptor); "FDSTOREREMOVE=1" + "FDNAME=N" drops them;
 *    other notifications (READY=1, WATCHDOG=1, STATUS=...) are accepted and ignored;
 *  - when the service dies (signal, or an exit code other than 0), it is started again after
 *    --restart-ms with the stored descriptors as fds 3.., and LISTEN_FDS, LISTEN_FDNAMES and
 *    LISTEN_PID set, as sd_listen_fds_with_names(3) reads them;
 *  - an exit 0 ends the holder (a stopped unit: systemd flushes its store then too);
 *    SIGTERM/SIGINT to the holder are passed to the service, which then exits.
 * The service's pid is written to --pidfile at each start, so a test can kill -9 it.
 *
 * usage: fd-holder --socket PATH --pidfile PATH [--restart-ms MS] [--max-starts N] -- CMD ARGS...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STORED 64
#define MAX_MSG 4096

struct stored {
  char name[256];
  int fd;
};
static struct stored store[MAX_STORED];
static int stored_count = 0;
static volatile sig_atomic_t stop_requested = 0;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void drop_name(const char *name) {
  for (int i = 0; i < stored_count;) {
    if (strcmp(store[i].name, name) == 0) {
      close(store[i].fd);
      store[i] = store[--stored_count];
    } else {
      i++;
    }
  }
}

static void log_line(const char *fmt, const char *a) {
  fprintf(stderr, "fd-holder: ");
  fprintf(stderr, fmt, a);
  fprintf(stderr, "\n");
}

/* One notification: stores or drops descriptors; closes any it does not keep. */
static void on_message(int sock) {
  char buf[MAX_MSG + 1];
  union {
    struct cmsghdr align;
    char b[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(struct ucred))];
  } control;
  struct iovec iov = {.iov_base = buf, .iov_len = MAX_MSG};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b, .msg_controllen = sizeof(control.b)};
  ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) return;
  buf[n] = '\0';
  int fds[16];
  int nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < k && nfds < 16; i++) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
  }
  int fdstore = 0, fdremove = 0;
  char name[256] = "stored";
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    if (strcmp(line, "FDSTORE=1") == 0) fdstore = 1;
    else if (strcmp(line, "FDSTOREREMOVE=1") == 0) fdremove = 1;
    else if (strncmp(line, "FDNAME=", 7) == 0) snprintf(name, sizeof(name), "%s", line + 7);
  }
  if (fdremove) {
    drop_name(name);
    log_line("dropped %s", name);
  }
  int kept = 0;
  if (fdstore && nfds > 0) {
    drop_name(name);
    for (int i = 0; i < nfds && stored_count < MAX_STORED; i++, kept++) {
      store[stored_count].fd = fds[i];
      snprintf(store[stored_count].name, sizeof(store[stored_count].name), "%s", name);
      stored_count++;
    }
    log_line("stored %s", name);
  }
  for (int i = kept; i < nfds; i++) close(fds[i]);
}

static pid_t start_service(char **argv, const char *sock_path, const char *pidfile) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    FILE *f = fopen(pidfile, "w");
    if (f) {
      fprintf(f, "%d\n", (int)pid);
      fclose(f);
    }
    return pid;
  }
  /* Child: stored descriptors become 3.. (above every of them first, so no dup2 overwrites
   * one still to be moved), without close-on-exec. */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  int base = 3 + MAX_STORED + 16;
  for (int i = 0; i < stored_count; i++) {
    if (dup2(store[i].fd, base + i) < 0) _exit(126);
  }
  char names[MAX_STORED * 257 + 1] = "";
  for (int i = 0; i < stored_count; i++) {
    if (dup2(base + i, 3 + i) < 0) _exit(126);
    close(base + i);
    if (i > 0) strcat(names, ":");
    strcat(names, store[i].name);
  }
  char num[32];
  snprintf(num, sizeof(num), "%d", stored_count);
  if (stored_count > 0) {
    setenv("LISTEN_FDS", num, 1);
    setenv("LISTEN_FDNAMES", names, 1);
    snprintf(num, sizeof(num), "%d", (int)getpid());
    setenv("LISTEN_PID", num, 1);
  }
  setenv("NOTIFY_SOCKET", sock_path, 1);
  execvp(argv[0], argv);
  _exit(127);
}

int main(int argc, char **argv) {
  const char *sock_path = NULL, *pidfile = NULL;
  int restart_ms = 100, max_starts = 20, i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (i + 1 >= argc) goto usage;
    if (strcmp(argv[i], "--socket") == 0) sock_path = argv[++i];
    else if (strcmp(argv[i], "--pidfile") == 0) pidfile = argv[++i];
    else if (strcmp(argv[i], "--restart-ms") == 0) restart_ms = atoi(argv[++i]);
    else if (strcmp(argv[i], "--max-starts") == 0) max_starts = atoi(argv[++i]);
    else goto usage;
  }
  if (!sock_path || !pidfile || i >= argc) goto usage;

  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (sock < 0 || strlen(sock_path) >= sizeof(addr.sun_path)) { perror("fd-holder: socket"); return 2; }
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
  unlink(sock_path);
  if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) { perror("fd-holder: bind"); return 2; }
  int one = 1;
  setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
  signal(SIGPIPE, SIG_IGN);

  int starts = 0;
  pid_t child = start_service(argv + i, sock_path, pidfile);
  starts++;
  long long restart_at = 0;
  int rc = 0;
  for (;;) {
    struct pollfd p = {.fd = sock, .events = POLLIN};
    poll(&p, 1, 50);
    if (p.revents & POLLIN) on_message(sock);
    if (stop_requested && child > 0) { kill(child, SIGTERM); stop_requested = 0; restart_at = -1; }
    if (child > 0) {
      int status;
      if (waitpid(child, &status, WNOHANG) == child) {
        child = 0;
        int failed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
        log_line("service ended (%s)", WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
        if (!failed || restart_at == -1 || starts >= max_starts) { rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1; break; }
        restart_at = now_ms() + restart_ms;
      }
    } else if (restart_at > 0 && now_ms() >= restart_at) {
      /* Notifications that arrived before the death are all read by now (poll above). */
      while (1) {
        struct pollfd q = {.fd = sock, .events = POLLIN};
        if (poll(&q, 1, 0) <= 0) break;
        on_message(sock);
      }
      restart_at = 0;
      child = start_service(argv + i, sock_path, pidfile);
      starts++;
    }
  }
  unlink(sock_path);
  return rc;
usage:
  fprintf(stderr, "usage: fd-holder --socket PATH --pidfile PATH [--restart-ms MS] [--max-starts N] -- CMD ARGS...\n");
  return 2;
}
