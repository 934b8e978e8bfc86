#ifndef STRVEC_H
#define STRVEC_H

#include <stddef.h>

/*
 * A NULL-terminated vector of owned strings, for argv and envp (git's
 * strvec). v is never NULL.
 */
struct strvec {
	const char **v;
	size_t nr;
	size_t alloc;
};

extern const char *strvec_empty[];
#define STRVEC_INIT                \
	{                          \
		strvec_empty, 0, 0 \
	}

void strvec_init(struct strvec *sv);
/* Copies s. Returns the copy (owned by the vector). */
const char *strvec_push(struct strvec *sv, const char *s);
const char *strvec_pushf(struct strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Takes ownership of s (which must be malloc'd). */
const char *strvec_push_nodup(struct strvec *sv, char *s);
void strvec_pushv(struct strvec *sv, const char *const *items);
void strvec_clear(struct strvec *sv);
/* Index of s, or -1. */
long strvec_find(const struct strvec *sv, const char *s);

#endif
