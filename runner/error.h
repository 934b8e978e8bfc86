#ifndef ERROR_H
#define ERROR_H

/*
 * Reporting for the top level (main.c and cmd-*.c) only. Library code
 * appends to a caller's struct strbuf *err and returns -1 instead.
 *
 * All output is one line on stderr, prefixed "runner: ", written with a
 * single write(2) so that lines from threads never interleave.
 */
void die_code(int code, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* die() exits 4 (runtime failure); usage errors use die_code(2, ...). */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Like die(), with ": strerror(errno)" appended. */
void die_errno(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* Prints "runner: ..." (like die, without exiting) and returns -1. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Broken internal invariant: prints file:line and aborts. */
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)
void bug_fl(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#endif
