#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

/*
 * Allocation that never returns NULL: running out of memory is fatal (the
 * process prints one line and exits 4). Sizes are checked for overflow.
 */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grow *ptr (of *alloc elements of size elem) to hold at least need. */
void xgrow(void **ptr, size_t *alloc, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A malloc'd formatted string; the caller frees it. */
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ALLOC_GROW(ptr, need, alloc) \
	xgrow((void **)&(ptr), &(alloc), (need), sizeof(*(ptr)))

#endif
