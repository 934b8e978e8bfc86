#ifndef STRBUF_H
#define STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable string (git's strbuf). Invariants: buf is never NULL and is
 * always NUL-terminated, so sb.buf can be passed anywhere a string goes.
 *
 * A buffer may carry a cap (curl's dynbuf "toobig"): an append that would
 * take len past cap fails with -1 and leaves the buffer unchanged. Every
 * buffer filled from a child, the network or a file uses a cap.
 */
struct strbuf {
	size_t alloc;
	size_t len;
	size_t cap; /* 0: no cap */
	char *buf;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT                     \
	{                               \
		0, 0, 0, strbuf_slopbuf \
	}

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_init_capped(struct strbuf *sb, size_t cap);
/* Frees the contents; the strbuf is ready for use again. */
void strbuf_release(struct strbuf *sb);
/* The caller owns the returned string and frees it with free(). */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_reset(struct strbuf *sb);
void strbuf_setlen(struct strbuf *sb, size_t len);
void strbuf_grow(struct strbuf *sb, size_t extra);

/* Appends return 0, or -1 when the cap would be exceeded. */
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, int c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);

/* Strip ASCII white space from the end. */
void strbuf_rtrim(struct strbuf *sb);

/*
 * Read fd to EOF, appending. Returns 0, or -1 with errno set (EFBIG when
 * the cap was hit; what fitted stays in the buffer).
 */
int strbuf_read_fd(struct strbuf *sb, int fd);
/* Read a whole file; same return convention. */
int strbuf_read_file(struct strbuf *sb, const char *path);

#endif
