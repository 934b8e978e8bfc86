#ifndef TAP_H
#define TAP_H

/*
 * A tiny TAP producer for unit tests (bubblewrap's test-utils model).
 * Each check prints "ok N - name" or "not ok N - name" with the values
 * that differed; done_testing() prints the plan and the exit status.
 */
#include <stdio.h>
#include <string.h>

static int tap_n;
static int tap_failed;

__attribute__((format(printf, 4, 5), unused))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                              \
	do {                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);    \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))     \
			printf("#   got %lld, want %lld\n", g_, w_);        \
	} while (0)

__attribute__((unused))
static void tap_show_strs(const char *got, const char *want)
{
	printf("#   got '%s'\n#  want '%s'\n", got ? got : "(null)",
	       want ? want : "(null)");
}

#define is_str(got, want, ...)                                              \
	do {                                                                \
		const char *g_ = (got), *w_ = (want);                       \
		int same_ = (!g_ && !w_) || (g_ && w_ && !strcmp(g_, w_));  \
		if (!tap_ok(same_, __FILE__, __LINE__, __VA_ARGS__))        \
			tap_show_strs(g_, w_);                              \
	} while (0)

#define skip(why) printf("ok %d # skip %s\n", ++tap_n, (why))

__attribute__((unused))
static int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
