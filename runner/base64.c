#include "runner.h"
#include "base64.h"

#include <openssl/evp.h>

/* Input bytes per EVP call: a multiple of 3 (encode) and of 4 (decode). */
#define CHUNK 3072

int base64_encode(struct strbuf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned char buf[CHUNK / 3 * 4 + 1];

	for (size_t i = 0; i < len; i += CHUNK) {
		size_t n = len - i < CHUNK ? len - i : CHUNK;
		int w = EVP_EncodeBlock(buf, p + i, (int)n);
		if (strbuf_add(out, buf, (size_t)w) < 0)
			return -1;
	}
	return 0;
}

/* The standard alphabet's byte for c, or 0 when c is in neither. */
static char standard(int c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/')
		return (char)c;
	return c == '-' ? '+' : c == '_' ? '/' : 0;
}

int base64_decode(struct strbuf *out, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	unsigned char in[CHUNK], bin[CHUNK / 4 * 3];
	size_t i = 0;

	if (eq)
		len = (size_t)(eq - s);
	while (i < len) {
		size_t n = 0, pad = 0;
		int r;

		for (; n < CHUNK && i < len; n++, i++) {
			in[n] = (unsigned char)standard((unsigned char)s[i]);
			if (!in[n])
				return -1;
		}
		/* One character left over is 6 bits: no byte. */
		if (n % 4 == 1)
			n--;
		for (; n % 4; n++, pad++)
			in[n] = '=';
		if (!n)
			break;
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		r = EVP_DecodeBlock(bin, in, (int)n);
		if (r < 0 || strbuf_add(out, bin, (size_t)r - pad) < 0)
			return -1;
	}
	return 0;
}
