#include "runner.h"
#include "quote.h"

/*
 * One line on stderr. Messages embed what sandboxes said (file names,
 * errors from a remote API): their control characters are escaped
 * (quote.h), so a message cannot rewrite the terminal.
 */
static void vreport(const char *prefix, const char *fmt, va_list ap,
		    const char *suffix)
{
	char line[4096];
	struct strbuf out = STRBUF_INIT;
	size_t n;
	int k;

	k = snprintf(line, sizeof(line), "runner: %s", prefix);
	n = k < 0 ? 0 : (size_t)k;
	if (n < sizeof(line)) {
		k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n += k < 0 ? 0 : (size_t)k;
	}
	if (suffix && n < sizeof(line)) {
		k = snprintf(line + n, sizeof(line) - n, ": %s", suffix);
		n += k < 0 ? 0 : (size_t)k;
	}
	if (n > sizeof(line) - 1)
		n = sizeof(line) - 1;
	quote_text(&out, line, n, 0);
	strbuf_addch(&out, '\n');
	if (write(2, out.buf, out.len) < 0) {
		/* stderr is gone: there is nowhere left to say so */
	}
	strbuf_release(&out);
}

void die_code(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap, NULL);
	va_end(ap);
	exit(code);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap, NULL);
	va_end(ap);
	exit(4);
}

void die_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap, strerror(saved));
	va_end(ap);
	exit(4);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap, NULL);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning: ", fmt, ap, NULL);
	va_end(ap);
}

void bug_fl(const char *file, int line, const char *fmt, ...)
{
	char where[256];
	va_list ap;
	snprintf(where, sizeof(where), "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vreport(where, fmt, ap, NULL);
	va_end(ap);
	abort();
}
