#include "runner.h"
#include "rand.h"
#include "tap.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_hex(void)
{
	char hex[65];
	size_t bad = 0;

	rand_hex(hex, 32);
	is_int(strlen(hex), 64, "32 bytes are 64 hex digits");
	is_int(strspn(hex, "0123456789abcdef"), 64, "all lowercase hex");
	rand_hex(hex, 0);
	is_str(hex, "", "0 bytes: an empty string");
	for (int i = 0; i < 100; i++) {
		rand_hex(hex, 6);
		if (strlen(hex) != 12)
			bad++;
	}
	is_int(bad, 0, "6 bytes are always 12 digits");
}

/* 10,000 tags of 12 hex digits, as the e2b backend makes: no repeat. */
static void test_unique(void)
{
	enum { N = 10000 };
	char **v = xcalloc(N, sizeof(*v));
	size_t dups = 0;

	for (size_t i = 0; i < N; i++) {
		v[i] = xmalloc(13);
		rand_hex(v[i], 6);
	}
	qsort(v, N, sizeof(*v), cmp_str);
	for (size_t i = 1; i < N; i++)
		dups += !strcmp(v[i - 1], v[i]);
	is_int(dups, 0, "no two of %d tags alike", N);
	for (size_t i = 0; i < N; i++)
		free(v[i]);
	free(v);
}

/* 1 MiB: every byte value turns up, none far off its share. */
static void test_spread(void)
{
	size_t n = 1 << 20, count[256] = { 0 }, lo = n, hi = 0;
	unsigned char *buf = xmalloc(n);

	rand_bytes(buf, n);
	for (size_t i = 0; i < n; i++)
		count[buf[i]]++;
	for (int i = 0; i < 256; i++) {
		lo = count[i] < lo ? count[i] : lo;
		hi = count[i] > hi ? count[i] : hi;
	}
	/* The share is 4096; 3000..5200 is beyond 10 standard deviations. */
	ok(lo > 3000 && hi < 5200, "byte counts within %zu..%zu", lo, hi);
	free(buf);
}

int main(void)
{
	test_hex();
	test_unique();
	test_spread();
	return done_testing();
}
