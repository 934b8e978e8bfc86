#ifndef QUOTE_H
#define QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct cJSON;

/*
 * Every string that came out of a sandbox (file names above all, but also
 * reasons and messages that embed them, or an E2B server's answers) is
 * hostile: it may hold ESC and CR to rewrite a terminal, newlines to forge
 * lines, bytes that are not UTF-8. Everything that prints or stores such a
 * string goes through this module, so there is one rule:
 *
 * Characters that are escaped ("unsafe"): C0 controls and DEL, C1 controls
 * (U+0080-U+009F, some terminals obey them), the invisible and
 * bidirectional formatting characters that can hide or reorder text
 * (U+061C, U+200B-U+200F, U+2028-U+202E, U+2066-U+2069, U+FEFF), and
 * every byte that is not part of valid UTF-8. Other non-ASCII characters
 * (é, 日本) are printed as they are.
 *
 * An escape is git's C style: \a \b \t \n \v \f \r, else \ooo, three
 * octal digits per byte (ESC is \033). No function here fails, none keeps
 * state; all are thread-safe.
 */

/* s is valid UTF-8 (no overlong forms, surrogates or values > U+10FFFF). */
bool quote_utf8_valid(const char *s, size_t len);
/*
 * How many bytes at the end of s[0..len) start a UTF-8 sequence that is
 * not complete yet (0-3): a reader of a stream keeps them for the next
 * chunk instead of escaping them.
 */
size_t quote_utf8_partial_tail(const char *s, size_t len);

/*
 * A file name as git prints paths (core.quotePath, except that valid
 * non-ASCII characters stay): the name as it is, or, when it holds an
 * unsafe character, '"' or '\', or starts or ends with a space, in double
 * quotes with C escapes (\" and \\ too). The result is one line of
 * printable text.
 */
bool quote_path_needed(const char *name);
void quote_path(struct strbuf *sb, const char *name);
/* The same into a new string; the caller frees it. */
char *quote_path_dup(const char *name);

/*
 * Free text (a reason, a warning, a message that may embed names):
 * unsafe characters escaped, nothing else changed, no quotes added.
 * With QUOTE_KEEP_LINES, '\n' and '\t' pass (for multi-line output);
 * with QUOTE_C_STYLE, '"' and '\' are escaped too, so the text reads back
 * unambiguously (a name inside a message's own quotes).
 */
#define QUOTE_KEEP_LINES 1
#define QUOTE_C_STYLE 2
void quote_text(struct strbuf *sb, const char *s, size_t len, int flags);
/* quote_text(s, strlen(s), 0) into a new string; the caller frees it. */
char *quote_text_dup(const char *s);

/*
 * JSON: every JSON document runner writes is valid UTF-8
 * (schema/changes.schema.json, "Strings and names").
 *
 * quote_utf8_fix() appends s with each byte that is not part of valid
 * UTF-8 replaced by U+FFFD.
 *
 * A name (a file path, a workspace path) is stored under key as the name
 * itself when it is valid UTF-8; otherwise key holds the quote_utf8_fix()
 * form and key_b64 the exact bytes in base64 (RFC 4648, padded).
 * quote_json_get_name() reads either back exactly: 0, or -1 when key is
 * missing, is not a string, or key_b64 is not base64 of a C string.
 *
 * quote_json_text() is a new JSON string of free text, quote_utf8_fix()ed:
 * lossy for bytes that are not UTF-8 (the names themselves are stored
 * exactly elsewhere). The add functions attach to obj. Running out of
 * memory inside cJSON is fatal, as in xmalloc.
 */
void quote_utf8_fix(struct strbuf *sb, const char *s);
void quote_json_add_name(struct cJSON *obj, const char *key, const char *name);
int quote_json_get_name(const struct cJSON *obj, const char *key,
			struct strbuf *out);
struct cJSON *quote_json_text(const char *s);
void quote_json_add_text(struct cJSON *obj, const char *key, const char *s);
/* item, or die() when it is NULL: cJSON ran out of memory. */
struct cJSON *quote_json_checked(struct cJSON *item);
/* Text as above, or JSON null for NULL. */
void quote_json_add_text_or_null(struct cJSON *obj, const char *key,
				 const char *s);
/* A time in ms since the epoch as ISO 8601 UTC; 0 (not yet) is null. */
void quote_json_add_time(struct cJSON *obj, const char *key, int64_t ms);

/* Base64 (RFC 4648, standard alphabet, padded). */
void quote_base64(struct strbuf *sb, const void *data, size_t len);
/* Decode; -1 on anything that is not padded standard base64. */
int quote_unbase64(struct strbuf *sb, const char *b64);

#endif
