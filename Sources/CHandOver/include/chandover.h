#ifndef CHANDOVER_H
#define CHANDOVER_H
// Thin C shim for a listener hand-over between two processes: Unix stream sockets, a TCP
// listener bound by hand (so its descriptor can be passed on), and SCM_RIGHTS, whose CMSG_*
// macros Swift cannot import. Every function returns -errno on failure. The one Swift layer
// over it is Sources/HandOver.
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/// A listening Unix stream socket at `path` (an old file there is replaced), close-on-exec.
int chandover_unix_listen(const char *path, int backlog);
/// A connected Unix stream socket to `path`, close-on-exec.
int chandover_unix_connect(const char *path);
/// accept4(…, SOCK_CLOEXEC).
int chandover_accept(int listener);
/// A TCP socket bound to `address` with SO_REUSEADDR, listening with `backlog`; close-on-exec.
int chandover_tcp_listen(const struct sockaddr *address, socklen_t length, int backlog);
/// Sends all of `data` (at least one byte); `fd` >= 0 travels with the first byte (SCM_RIGHTS).
int chandover_send(int sock, const uint8_t *data, size_t length, int fd);
/// Receives up to `capacity` bytes; a descriptor that came with them is stored in `*fd`
/// (close-on-exec), else `*fd` = -1. Returns the count (0 at end of stream) or -errno.
ssize_t chandover_recv(int sock, uint8_t *buffer, size_t capacity, int *fd);
/// Sets SO_RCVTIMEO and SO_SNDTIMEO (milliseconds; 0 = none).
int chandover_set_timeout(int sock, int milliseconds);
/// The port a socket is bound to (IPv4 or IPv6), or -errno.
int chandover_local_port(int sock);
/// shutdown(fd, SHUT_RDWR): wakes a thread blocked in accept or recv.
int chandover_shutdown(int fd);
/// close(2).
int chandover_close(int fd);
#endif
