#ifndef ERROR_H
#define ERROR_H

/*
 * Reporting for the top level (main.c and cmd-*.c) only. Library code
 * appends to a caller's struct strbuf *err and returns -1 instead.
 *
 * All output is one line on stderr, prefixed "runner: ", written with a
 * single write(2) so that lines from threads never interleave.
 */
__attribute__((noreturn, format(printf, 2, 3)))
void die_code(int code, const char *fmt, ...);
/* die() exits 4 (runtime failure); usage errors use die_code(2, ...). */
__attribute__((noreturn, format(printf, 1, 2)))
void die(const char *fmt, ...);
/* Like die(), with ": strerror(errno)" appended. */
__attribute__((noreturn, format(printf, 1, 2)))
void die_errno(const char *fmt, ...);
/* Prints "runner: ..." (like die, without exiting) and returns -1. */
__attribute__((format(printf, 1, 2)))
int error(const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void warning(const char *fmt, ...);

/* Broken internal invariant: prints file:line and aborts. */
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)
__attribute__((noreturn, format(printf, 3, 4)))
void bug_fl(const char *file, int line, const char *fmt, ...);

#endif
