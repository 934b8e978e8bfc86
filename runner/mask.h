#ifndef MASK_H
#define MASK_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct strvec;

/*
 * Replaces secret values with "***" in a stream that arrives in chunks.
 *
 * Each value is hidden in every form a task is likely to print it in:
 *  - the whole value;
 *  - each of its lines (split at newlines, and at the two characters
 *    backslash-n, which is how a PEM key sits inside a JSON credential),
 *    trimmed of surrounding blanks, when MASK_MIN_PART characters or
 *    longer: shorter lines ("}", "],", the last few characters of a
 *    base64 block) carry next to nothing of the secret and would hide
 *    the same characters in unrelated output;
 *  - the JSON-escaped form of the value and of each such line (quotes,
 *    backslashes, newlines and control characters escaped as
 *    JSON.stringify and Python's json.dumps do), and the same with "/"
 *    written as "\/" (PHP's json_encode; base64 has slashes).
 * Where several forms overlap in the output, the whole stretch they cover
 * becomes one "***".
 *
 * A secret split across two chunks is still caught: the last
 * (longest form - 1) bytes of each chunk are held back until the next
 * chunk or the final flush. Memory is bounded by the chunk size plus the
 * longest form (at most 6 times the longest value, when it is all control
 * characters; a few per cent more than the value for a PEM key).
 */
struct mask;

/* Lines shorter than this (after trimming) are not masked on their own. */
#define MASK_MIN_PART 8
/* A value shorter than this is masked, with a warning (mask_value_problem). */
#define MASK_MIN_VALUE 8

/* Copies the non-empty values; a mask with no values passes data through. */
struct mask *mask_new(const struct strvec *values);
/* The same, names->v[i] naming values->v[i] for mask_find (copied). */
struct mask *mask_new_named(const struct strvec *values,
			    const struct strvec *names);
void mask_free(struct mask *m);
/*
 * Append the masked form of data to out. With final, nothing is held
 * back. Returns -1 when out's cap was hit.
 */
int mask_feed(struct mask *m, const char *data, size_t len, bool final,
	      struct strbuf *out);
/* Mask a whole string at once into a new malloc'd string; m may be NULL. */
char *mask_string(const struct mask *m, const char *s);
/* Replace *s (malloc'd, may be NULL) by its masked form. */
void mask_in_place(const struct mask *m, char **s);
/* Bytes held back, waiting for the next chunk (never >= longest form). */
size_t mask_held(const struct mask *m);
/* How many forms are looked for (for tests). */
size_t mask_nr_forms(const struct mask *m);

/*
 * Finding secrets in files (what a sandbox sends back): the name of a
 * secret that data holds in one of the forms above, or NULL. Only forms
 * of values and lines of MASK_MIN_PART characters or more are looked
 * for: a short value would refuse every file that happens to hold the
 * same few characters. A mask made by mask_new() names every secret
 * "(unnamed)". These only read m, so threads may share one mask (not
 * one struct mask_scan).
 */
const char *mask_find(const struct mask *m, const void *buf, size_t len);
/*
 * The same over a stream in chunks: a form split across chunks is found
 * in the chunk that completes it. The scanner keeps the stream's last
 * (longest form - 1) bytes and copies at most that many more per chunk;
 * nothing is held back, so there is no final flush. m may be NULL (finds
 * nothing) and must outlive the scanner.
 */
struct mask_scan;
struct mask_scan *mask_scan_new(const struct mask *m);
const char *mask_scan_feed(struct mask_scan *s, const void *buf, size_t len);
/* The stream has a gap (a hole of zeros: no form has a NUL byte). */
void mask_scan_break(struct mask_scan *s);
void mask_scan_free(struct mask_scan *s);

/*
 * Why a secret's value is a poor one to mask, or NULL: empty (nothing is
 * masked), or shorter than MASK_MIN_VALUE (it is masked, and so are the
 * same characters wherever they appear, inside unrelated words).
 */
const char *mask_value_problem(const char *value);

#endif
