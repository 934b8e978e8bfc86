#include "runner.h"
#include "quote.h"
#include "tap.h"

#include <cJSON.h>

static char *qp(const char *name)
{
	return quote_path_dup(name);
}

static void test_quote_path(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "src/main.c", "src/main.c" },
		{ "with space.txt", "with space.txt" },
		{ " lead", "\" lead\"" },
		{ "trail ", "\"trail \"" },
		{ "café/日本.txt", "café/日本.txt" },
		{ "evil\033[2K\rfake.txt", "\"evil\\033[2K\\rfake.txt\"" },
		{ "a\nb", "\"a\\nb\"" },
		{ "tab\there", "\"tab\\there\"" },
		{ "q\"uote", "\"q\\\"uote\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "bell\a\b\v\f", "\"bell\\a\\b\\v\\f\"" },
		{ "del\177", "\"del\\177\"" },
		{ "bad\377name", "\"bad\\377name\"" },
		/* é stays, the lone 0xff next to it does not */
		{ "é\377", "\"é\\377\"" },
		/* overlong '/', a UTF-16 surrogate, a cut sequence */
		{ "\300\257", "\"\\300\\257\"" },
		{ "\355\240\200", "\"\\355\\240\\200\"" },
		{ "x\346\227", "\"x\\346\\227\"" },
		/* C1 CSI (U+009B) and a right-to-left override (U+202E) */
		{ "\302\233""2J", "\"\\302\\2332J\"" },
		{ "abc\342\200\256txt.exe", "\"abc\\342\\200\\256txt.exe\"" },
		{ "", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *got = qp(rows[i].in);
		is_str(got, rows[i].want, "quote_path row %zu", i);
		ok(!strchr(got, '\033') && !strchr(got, '\r') &&
			   !strchr(got, '\n'),
		   "row %zu has no raw control character", i);
		free(got);
	}
}

static void test_quote_text(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *t = quote_text_dup("cannot write 'a\033]0;x\007' \"q\" \\ é");
	is_str(t, "cannot write 'a\\033]0;x\\a' \"q\" \\ é",
	       "text: controls escaped, quotes and backslash kept");
	free(t);
	quote_text(&sb, "l1\n\tl2\r\n\0z", 10, QUOTE_KEEP_LINES);
	is_str(sb.buf, "l1\n\tl2\\r\n\\000z",
	       "KEEP_LINES keeps \\n and \\t, escapes CR and NUL");
	strbuf_reset(&sb);
	quote_text(&sb, "a\\b \"c\"\n", 8, QUOTE_C_STYLE);
	is_str(sb.buf, "a\\\\b \\\"c\\\"\\n",
	       "C_STYLE escapes backslash and quote too, no quotes added");
	strbuf_release(&sb);
}

static void test_utf8(void)
{
	ok(quote_utf8_valid("café 日本 \360\237\230\200", 17),
	   "valid UTF-8 with 2-, 3- and 4-byte characters");
	ok(!quote_utf8_valid("\377", 1), "0xff is not UTF-8");
	ok(!quote_utf8_valid("\300\257", 2), "overlong is not UTF-8");
	ok(!quote_utf8_valid("\355\240\200", 3), "a surrogate is not UTF-8");
	ok(!quote_utf8_valid("\364\220\200\200", 4), "> U+10FFFF is not");
	is_int(quote_utf8_partial_tail("ab\346\227", 4), 2,
	       "two bytes of a three-byte character wait");
	is_int(quote_utf8_partial_tail("ab\346\227\245", 5), 0,
	       "a complete character does not");
	is_int(quote_utf8_partial_tail("ab\360", 3), 1, "a lone lead waits");
	is_int(quote_utf8_partial_tail("abc", 3), 0, "ASCII does not");
}

static void test_base64(void)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob",
					  "fooba", "foobar", "\377\376" };
	static const char *const out[] = { "",	       "Zg==",	   "Zm8=",
					   "Zm9v",     "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy", "//4=" };
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		struct strbuf sb = STRBUF_INIT, back = STRBUF_INIT;
		quote_base64(&sb, in[i], strlen(in[i]));
		is_str(sb.buf, out[i], "base64 of row %zu (RFC 4648)", i);
		ok(!quote_unbase64(&back, sb.buf) && back.len == strlen(in[i]) &&
			   !memcmp(back.buf, in[i], back.len),
		   "decodes back, row %zu", i);
		strbuf_release(&sb);
		strbuf_release(&back);
	}
	{
		struct strbuf sb = STRBUF_INIT;
		ok(quote_unbase64(&sb, "Zm9") < 0, "unpadded is refused");
		ok(quote_unbase64(&sb, "Zm=v") < 0, "pad in the middle");
		ok(quote_unbase64(&sb, "Zm9v!A==") < 0, "bad character");
		is_int(sb.len, 0, "a refused decode leaves nothing");
		strbuf_release(&sb);
	}
}

static void test_json_names(void)
{
	static const char *const names[] = { "plain.txt", "é/日本", "bad\377",
					     "a\303(b", "nl\nx\033" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		cJSON *o = cJSON_CreateObject(), *back;
		struct strbuf got = STRBUF_INIT;
		char *text;
		bool b64;

		quote_json_add_name(o, "path", names[i]);
		text = cJSON_PrintUnformatted(o);
		ok(quote_utf8_valid(text, strlen(text)),
		   "row %zu: the JSON is valid UTF-8", i);
		back = cJSON_Parse(text);
		b64 = cJSON_GetObjectItem(back, "path_b64") != NULL;
		ok(b64 == !quote_utf8_valid(names[i], strlen(names[i])),
		   "row %zu: path_b64 exactly when the name is not UTF-8", i);
		ok(!quote_json_get_name(back, "path", &got) &&
			   !strcmp(got.buf, names[i]),
		   "row %zu: the name reads back exactly", i);
		strbuf_release(&got);
		cJSON_Delete(back);
		cJSON_Delete(o);
		cJSON_free(text);
	}
	{
		cJSON *o = cJSON_Parse("{\"path\":\"x\",\"path_b64\":\"AA==\"}");
		struct strbuf got = STRBUF_INIT;
		ok(quote_json_get_name(o, "path", &got) < 0,
		   "a name with a NUL byte is refused");
		cJSON_Delete(o);
		strbuf_release(&got);
	}
	{
		cJSON *j = quote_json_text("msg \377 end");
		is_str(j->valuestring, "msg \xef\xbf\xbd end",
		       "free text: invalid bytes become U+FFFD");
		cJSON_Delete(j);
	}
}

static void test_json_or_null(void)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	quote_json_add_text_or_null(o, "a", "x\377");
	quote_json_add_text_or_null(o, "b", NULL);
	/* 2026-12-02T13:08:22.5Z */
	quote_json_add_time(o, "t", 1796216902500LL);
	quote_json_add_time(o, "u", 0);
	text = cJSON_PrintUnformatted(o);
	is_str(text,
	       "{\"a\":\"x\xef\xbf\xbd\",\"b\":null,"
	       "\"t\":\"2026-12-02T13:08:22.500Z\",\"u\":null}",
	       "text or null; a time in UTC, or null when 0");
	cJSON_free(text);
	cJSON_Delete(o);
}

int main(void)
{
	test_quote_path();
	test_quote_text();
	test_utf8();
	test_base64();
	test_json_names();
	test_json_or_null();
	return done_testing();
}
