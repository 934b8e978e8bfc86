#include "runner.h"
#include "rand.h"
#include "timeutil.h"

#include <stdatomic.h>
#include <sys/random.h>

static atomic_uint_fast64_t fallback_counter;

/* splitmix64: spreads clock, pid and counter over every bit. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void fallback_bytes(unsigned char *p, size_t len)
{
	uint64_t seed = (uint64_t)time_now_ms() ^ (uint64_t)time_mono_ms() ^
			((uint64_t)getpid() << 32);

	for (size_t i = 0; i < len; i += 8) {
		uint64_t n = atomic_fetch_add(&fallback_counter, 1);
		uint64_t x = mix(seed ^ mix(n));
		for (size_t j = 0; j < 8 && i + j < len; j++)
			p[i + j] = (unsigned char)(x >> (8 * j));
	}
}

void rand_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fallback_bytes(p + got, len - got);
			return;
		}
		got += (size_t)n;
	}
}

void rand_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[32];

	if (nbytes > sizeof(buf))
		BUG("rand_hex: %zu bytes", nbytes);
	rand_bytes(buf, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * nbytes] = '\0';
}
