#include "runner.h"
#include "hash.h"
#include "fs.h"

#include <openssl/evp.h>

struct sha256_ctx {
	EVP_MD_CTX *md;
};

struct sha256_ctx *sha256_new(void)
{
	struct sha256_ctx *c = xmalloc(sizeof(*c));
	c->md = EVP_MD_CTX_new();
	if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		BUG("cannot initialise SHA-256");
	return c;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	if (EVP_DigestUpdate(c->md, data, len) != 1)
		BUG("SHA-256 update failed");
}

void sha256_final(struct sha256_ctx *c, unsigned char out[32])
{
	unsigned int n = 32;
	if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != 32)
		BUG("SHA-256 final failed");
	EVP_MD_CTX_free(c->md);
	free(c);
}

void sha256_buf(const void *data, size_t len, unsigned char out[32])
{
	struct sha256_ctx *c = sha256_new();
	sha256_update(c, data, len);
	sha256_final(c, out);
}

void sha256_update_zeros(struct sha256_ctx *c, uint64_t len)
{
	static const unsigned char zeros[65536];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		sha256_update(c, zeros, n);
		len -= n;
	}
}

static int hash_data(void *ctx, const void *buf, size_t len)
{
	sha256_update(ctx, buf, len);
	return 0;
}

static int hash_hole(void *ctx, uint64_t len)
{
	sha256_update_zeros(ctx, len);
	return 0;
}

int sha256_fd(int fd, unsigned char out[32])
{
	struct sha256_ctx *c = sha256_new();
	int ret = fs_read_sparse(fd, hash_data, hash_hole, c), saved = errno;

	sha256_final(c, out);
	errno = saved;
	return ret;
}

void sha256_hex(const unsigned char sum[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[sum[i] >> 4];
		hex[2 * i + 1] = digits[sum[i] & 15];
	}
	hex[64] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sha256_parse_hex(const char *hex, unsigned char sum[32])
{
	for (int i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]);
		int lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		sum[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
