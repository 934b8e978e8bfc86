#include "runner.h"
#include "base64.h"
#include "rand.h"
#include "tap.h"

static const struct {
	const char *plain, *coded;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_vectors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
		const char *p = rfc4648[i].plain, *c = rfc4648[i].coded;
		base64_encode(&enc, p, strlen(p));
		is_str(enc.buf, c, "encode '%s' (RFC 4648)", p);
		is_int(base64_decode(&dec, c, strlen(c)), 0, "decode '%s'", c);
		is_str(dec.buf, p, "decode '%s' gives '%s'", c, p);
		strbuf_release(&enc);
		strbuf_release(&dec);
	}
}

static void test_lenient(void)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "Zm9vYg", "foob" },	 /* no padding */
		{ "Zm9vYmE", "fooba" },	 /* no padding */
		{ "-_8=", "\xfb\xff" },	 /* URL alphabet */
		{ "+/8=", "\xfb\xff" },	 /* standard alphabet */
		{ "Zg==Zm9v", "f" },	 /* stops at the first '=' */
		{ "Zm9vY", "foo" },	 /* 6 bits left over: no byte */
		{ "dXNlcjo=", "user:" }, /* what envd's Basic header holds */
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strbuf dec = STRBUF_INIT;
		int r = base64_decode(&dec, rows[i].in, strlen(rows[i].in));
		ok(r == 0 && dec.len == strlen(rows[i].out) &&
			   !memcmp(dec.buf, rows[i].out, dec.len),
		   "decode '%s'", rows[i].in);
		strbuf_release(&dec);
	}
}

static void test_bad(void)
{
	static const char *const rows[] = { "Zm9v\nYmFy", " Zm9v", "Zm9v!",
					    "Zm\x80v", "Zm9v Zm9v" };
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strbuf dec = STRBUF_INIT;
		is_int(base64_decode(&dec, rows[i], strlen(rows[i])), -1,
		       "refused: bad byte in row %zu", i);
		strbuf_release(&dec);
	}
}

/* Every length across the chunk size, and a few MiB at once. */
static void test_round_trip(void)
{
	size_t sizes[] = { 3071, 3072, 3073, 4095, 4096, 4097, 9217, 3 << 20 };
	int bad = 0;

	for (size_t n = 0; n < 300; n++) {
		unsigned char buf[300];
		struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
		rand_bytes(buf, n);
		base64_encode(&enc, buf, n);
		if (enc.len != (n + 2) / 3 * 4 ||
		    base64_decode(&dec, enc.buf, enc.len) < 0 ||
		    dec.len != n || memcmp(dec.buf, buf, n))
			bad++;
		strbuf_release(&enc);
		strbuf_release(&dec);
	}
	is_int(bad, 0, "round trip of every length 0..299");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned char *buf = xmalloc(sizes[i]);
		struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
		rand_bytes(buf, sizes[i]);
		base64_encode(&enc, buf, sizes[i]);
		ok(base64_decode(&dec, enc.buf, enc.len) == 0 &&
			   dec.len == sizes[i] &&
			   !memcmp(dec.buf, buf, sizes[i]),
		   "round trip of %zu bytes", sizes[i]);
		strbuf_release(&enc);
		strbuf_release(&dec);
		free(buf);
	}
}

static void test_cap(void)
{
	struct strbuf dec, enc;

	strbuf_init_capped(&dec, 5);
	is_int(base64_decode(&dec, "Zm9vYmFy", 8), -1,
	       "decoding past the cap fails");
	strbuf_release(&dec);
	strbuf_init_capped(&dec, 6);
	is_int(base64_decode(&dec, "Zm9vYmFy", 8), 0, "up to the cap is fine");
	strbuf_release(&dec);
	strbuf_init_capped(&enc, 7);
	is_int(base64_encode(&enc, "foobar", 6), -1,
	       "encoding past the cap fails");
	strbuf_release(&enc);
}

int main(void)
{
	test_vectors();
	test_lenient();
	test_bad();
	test_round_trip();
	test_cap();
	return done_testing();
}
