#define _GNU_SOURCE
#include "chandover.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(address->sun_path)) return -ENAMETOOLONG;
    strcpy(address->sun_path, path);
    return 0;
}

int chandover_unix_listen(const char *path, int backlog) {
    struct sockaddr_un address;
    int rc = unix_address(path, &address);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int chandover_unix_connect(const char *path) {
    struct sockaddr_un address;
    int rc = unix_address(path, &address);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int chandover_accept(int listener) {
    int fd;
    do { fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC); } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

int chandover_tcp_listen(const struct sockaddr *address, socklen_t length, int backlog) {
    int fd = socket(address->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || bind(fd, address, length) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int chandover_send(int sock, const uint8_t *data, size_t length, int fd) {
    size_t sent = 0;
    while (sent < length) {
        struct iovec iov = { .iov_base = (void *)(data + sent), .iov_len = length - sent };
        struct msghdr msg;
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
        if (fd >= 0 && sent == 0) {
            memset(&control, 0, sizeof(control));
            msg.msg_control = control.buffer;
            msg.msg_controllen = sizeof(control.buffer);
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        sent += (size_t)n;
    }
    return 0;
}

ssize_t chandover_recv(int sock, uint8_t *buffer, size_t capacity, int *fd) {
    *fd = -1;
    struct iovec iov = { .iov_base = buffer, .iov_len = capacity };
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    msg.msg_control = control.buffer;
    msg.msg_controllen = sizeof(control.buffer);
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
            memcpy(fd, CMSG_DATA(c), sizeof(int));
        }
    }
    return n;
}

int chandover_set_timeout(int sock, int milliseconds) {
    struct timeval tv = { .tv_sec = milliseconds / 1000, .tv_usec = (milliseconds % 1000) * 1000 };
    if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return -errno;
    if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) return -errno;
    return 0;
}

int chandover_local_port(int sock) {
    struct sockaddr_storage address;
    socklen_t length = sizeof(address);
    if (getsockname(sock, (struct sockaddr *)&address, &length) != 0) return -errno;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return -EAFNOSUPPORT;
}

int chandover_close(int fd) {
    return close(fd) == 0 ? 0 : -errno;
}

int chandover_shutdown(int fd) {
    return shutdown(fd, SHUT_RDWR) == 0 ? 0 : -errno;
}
