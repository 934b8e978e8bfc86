#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* SHA-256 through libcrypto's EVP interface. */
struct sha256_ctx;

struct sha256_ctx *sha256_new(void);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Writes 32 bytes to out and frees c. */
void sha256_final(struct sha256_ctx *c, unsigned char out[32]);
void sha256_buf(const void *data, size_t len, unsigned char out[32]);
/* Feed len zero bytes (a hole of a sparse file, never read). */
void sha256_update_zeros(struct sha256_ctx *c, uint64_t len);
/*
 * Hash a regular file's content, from its start to its end; its holes
 * are hashed as the zeros they read as, without reading them. -1 with
 * errno on a read error.
 */
int sha256_fd(int fd, unsigned char out[32]);
/* 64 hex digits and a NUL into hex. */
void sha256_hex(const unsigned char sum[32], char hex[65]);
/*
 * The reverse: the 64 hex digits (either case) at hex into sum. -1 when
 * one of them is not a hex digit; what follows them is the caller's.
 */
int sha256_parse_hex(const char *hex, unsigned char sum[32]);

#endif
