#ifndef RAND_H
#define RAND_H

#include <stddef.h>

/*
 * The one source of random bytes, for names that must not collide: run
 * ids, temporary file names, process tags. The bytes come from
 * getrandom(2). When the kernel gives none (no getrandom, or a seccomp
 * filter that refuses it), a mix of the clock, the pid and a counter
 * stands in: unique enough for names, so these are not for keys or
 * tokens. Neither function fails; both are thread-safe.
 */

/* Fill buf with len random bytes. */
void rand_bytes(void *buf, size_t len);

/*
 * 2 * nbytes lowercase hex digits of random bytes, then a NUL, into out
 * (which holds 2 * nbytes + 1 bytes). nbytes is at most 32 (BUG beyond).
 */
void rand_hex(char *out, size_t nbytes);

#endif
