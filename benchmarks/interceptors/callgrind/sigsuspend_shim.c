// valgrind 3.19 writes into rt_sigsuspend's mask argument; libdispatch passes a mask in
// read-only memory, which kills valgrind. Pass a writable copy instead.
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return syscall(SYS_rt_sigsuspend, &copy, 8); }
