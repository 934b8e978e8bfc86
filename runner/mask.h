#ifndef MASK_H
#define MASK_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct strvec;

/*
 * Replaces secret values with "***" in a stream that arrives in chunks.
 * A secret split across two chunks is still caught: the last
 * (longest secret - 1) bytes of each chunk are held back until the next
 * chunk or the final flush. Memory is bounded by the chunk size plus the
 * longest secret.
 */
struct mask;

/* Copies the non-empty values; a mask with no values passes data through. */
struct mask *mask_new(const struct strvec *values);
void mask_free(struct mask *m);
/*
 * Append the masked form of data to out. With final, nothing is held
 * back. Returns -1 when out's cap was hit.
 */
int mask_feed(struct mask *m, const char *data, size_t len, bool final,
	      struct strbuf *out);
/* Mask a whole string at once into a new malloc'd string. */
char *mask_string(const struct mask *m, const char *s);

#endif
