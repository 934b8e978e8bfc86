#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>

struct strbuf;

/*
 * Base64 (RFC 4648) through libcrypto's EVP_EncodeBlock() and
 * EVP_DecodeBlock(), for data that crosses a text protocol (envd's JSON
 * process stream, HTTP Basic credentials, file contents in a listing).
 * Both functions append to out, work in bounded chunks whatever the
 * input's size, and are thread-safe.
 */

/*
 * Append the standard, padded encoding of data[0..len). Returns 0, or -1
 * when out's cap is hit (what fitted stays in out).
 */
int base64_encode(struct strbuf *out, const void *data, size_t len);

/*
 * Append the bytes that s[0..len) encodes. Both the standard and the
 * URL-safe alphabet are read, with or without padding (what protobuf's
 * JSON mapping accepts); decoding stops at the first '='. Returns 0, or
 * -1 on a byte outside both alphabets (white space included) or when
 * out's cap would be exceeded; what was decoded before stays in out.
 */
int base64_decode(struct strbuf *out, const char *s, size_t len);

#endif
