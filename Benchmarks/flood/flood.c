/* A connection flood from one client address, cheap enough (epoll, non-blocking connects) that the
 * generator's own CPU does not decide the benchmark on a 2-core machine.
 *   flood PORT LIMIT CONCURRENCY RATE [SOURCE]
 * Opens up to LIMIT connections to 127.0.0.1:PORT from SOURCE (default 127.0.0.2), at most CONCURRENCY
 * in flight, RATE per second (0: as fast as it can). A connection greeted with anything but 421 is held
 * (as a bot holds its slots); a 421 is counted and closed. On SIGTERM or at LIMIT, prints JSON counts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_term(int sig) { (void)sig; stopping = 1; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: flood PORT LIMIT CONCURRENCY RATE [SOURCE]\n"); return 2; }
    int port = atoi(argv[1]);
    long limit = atol(argv[2]);
    int concurrency = atoi(argv[3]);
    double rate = atof(argv[4]);
    const char *source = argc > 5 ? argv[5] : "127.0.0.2";
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, source, &from.sin_addr);
    long started = 0, refused = 0, held = 0, errors = 0;
    int inflight = 0;
    double begin = now();
    struct epoll_event events[256];
    while (!stopping && (started < limit || inflight > 0)) {
        double due = rate > 0 ? (now() - begin) * rate : 1e18;
        while (!stopping && started < limit && inflight < concurrency && started < due) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) { errors++; break; }
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef IP_BIND_ADDRESS_NO_PORT
            /* The port is chosen at connect, by the whole 4-tuple: a long flood does not run out of them. */
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
            if (bind(fd, (struct sockaddr *)&from, sizeof from) < 0 ||
                (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS)) {
                close(fd); errors++; started++; continue;
            }
            struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            started++; inflight++;
        }
        int n = epoll_wait(ep, events, 256, rate > 0 ? 1 : 10);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            char buffer[512];
            ssize_t got = read(fd, buffer, sizeof buffer);
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
            inflight--;
            if (got >= 3 && memcmp(buffer, "421", 3) == 0) { refused++; close(fd); }
            else if (got > 0) { held++; } /* kept open until exit */
            else { errors++; close(fd); }
        }
    }
    printf("{\"connections\": %ld, \"refused_421\": %ld, \"greeted_held\": %ld, \"errors\": %ld, \"seconds\": %.2f}\n",
           started, refused, held, errors, now() - begin);
    return 0;
}
