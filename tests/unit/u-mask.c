#include "runner.h"
#include "mask.h"
#include "tap.h"

/* Feed text in chunks of the given size and return the masked whole. */
static char *feed_chunks(struct mask *m, const char *text, size_t chunk)
{
	struct strbuf out = STRBUF_INIT;
	size_t n = strlen(text);
	for (size_t i = 0; i < n; i += chunk) {
		size_t len = n - i < chunk ? n - i : chunk;
		mask_feed(m, text + i, len, false, &out);
	}
	mask_feed(m, "", 0, true, &out);
	return strbuf_detach(&out, NULL);
}

/* A PEM-shaped value: header, 20 base64 lines of 64, a short one, footer. */
static char *fake_pem(unsigned seed)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "-----BEGIN TEST KEY-----\n");
	for (int l = 0; l < 20; l++) {
		for (int i = 0; i < 64; i++) {
			seed = seed * 1103515245u + 12345u;
			strbuf_addch(&sb, b64[(seed >> 16) & 63]);
		}
		strbuf_addch(&sb, '\n');
	}
	strbuf_addstr(&sb, "AbC=\n-----END TEST KEY-----");
	return strbuf_detach(&sb, NULL);
}

/* Line n (0-based) of s, in a new string. */
static char *line_of(const char *s, int n)
{
	const char *end;
	while (n-- > 0)
		s = strchr(s, '\n') + 1;
	end = strchr(s, '\n');
	return end ? xstrndup(s, (size_t)(end - s)) : xstrdup(s);
}

/* s as JSON.stringify would write it, without the quotes. */
static char *json_of(const char *s, bool slash)
{
	struct strbuf sb = STRBUF_INIT;
	for (; *s; s++) {
		if (*s == '\n')
			strbuf_addstr(&sb, "\\n");
		else if (*s == '"' || *s == '\\')
			strbuf_addf(&sb, "\\%c", *s);
		else if (*s == '/' && slash)
			strbuf_addstr(&sb, "\\/");
		else
			strbuf_addch(&sb, *s);
	}
	return strbuf_detach(&sb, NULL);
}

static void test_multiline(void)
{
	struct strvec secrets = STRVEC_INIT;
	char *pem = fake_pem(7), *s, *text, *json, *jslash;
	struct mask *m;
	int hidden = 0;

	strvec_push(&secrets, pem);
	m = mask_new(&secrets);
	ok(mask_nr_forms(m) >= 22,
	   "a 23-line value gives a form per line "
	   "(%zu forms)",
	   mask_nr_forms(m));

	text = xstrfmt("before\n%s\nafter", pem);
	s = mask_string(m, text);
	is_str(s, "before\n***\nafter", "the whole value is one ***");
	free(s);
	free(text);

	for (int l = 0; l < 23; l++) {
		char *line = line_of(pem, l);
		char *want;
		text = xstrfmt("line %d: [%s]", l, line);
		s = mask_string(m, text);
		want = strlen(line) >= MASK_MIN_PART
			       ? xstrfmt("line %d: [***]", l)
			       : xstrdup(text);
		hidden += strlen(line) >= MASK_MIN_PART;
		is_str(s, want, "line %d alone (%zu chars)", l, strlen(line));
		free(want);
		free(s);
		free(text);
		free(line);
	}
	is_int(hidden, 22, "every line but the 4-character one is masked");

	json = json_of(pem, false);
	text = xstrfmt("{\"key\": \"%s\\n\"}", json);
	s = mask_string(m, text);
	is_str(s, "{\"key\": \"***\\n\"}", "the JSON-escaped value");
	free(s);
	free(text);
	jslash = json_of(pem, true);
	ok(strcmp(json, jslash), "the value has a slash");
	text = xstrfmt("{\"key\":\"%s\"}", jslash);
	s = mask_string(m, text);
	is_str(s, "{\"key\":\"***\"}", "the JSON-escaped value, \\/ for /");
	free(s);
	free(text);

	/* Across chunks: the same as all at once, whatever the cut. */
	text = xstrfmt("a %s b %s c \"%s\" d", pem, json, jslash);
	s = mask_string(m, text);
	is_str(s, "a *** b *** c \"***\" d", "value, then JSON forms");
	for (size_t chunk = 1; chunk <= 4096; chunk = chunk * 3 + 1) {
		char *got = feed_chunks(m, text, chunk);
		is_str(got, s, "the same in chunks of %zu", chunk);
		free(got);
	}
	free(s);
	free(text);
	free(json);
	free(jslash);
	mask_free(m);
	strvec_clear(&secrets);
	free(pem);
}

/* A service-account JSON: its key is inside a string, with \n escapes. */
static void test_json_credential(void)
{
	struct strvec secrets = STRVEC_INIT;
	char *pem = fake_pem(11), *json = json_of(pem, false), *cred, *s;
	char *line5 = line_of(pem, 5), *text;
	struct mask *m;

	cred = xstrfmt("{\n  \"type\": \"service_account\",\n"
		       "  \"private_key_id\": \"3f9a1c0e8b7d6a5f\",\n"
		       "  \"private_key\": \"%s\\n\",\n"
		       "  \"client_email\": \"a@b.iam.gserviceaccount.com\"\n"
		       "}",
		       json);
	strvec_push(&secrets, cred);
	m = mask_new(&secrets);

	/*
	 * Decoded (jq -r .private_key), each line is hidden: the header
	 * line is not a line of the JSON (it follows "private_key": ") and
	 * not secret; the 4-character line is too short.
	 */
	text = xstrdup("-----BEGIN TEST KEY-----\n");
	for (int i = 0; i < 20; i++) {
		char *more = xstrfmt("%s***\n", text);
		free(text);
		text = more;
	}
	s = xstrfmt("%sAbC=\n***", text);
	free(text);
	text = mask_string(m, pem);
	is_str(text, s, "the key decoded out of the JSON (jq -r)");
	free(s);
	free(text);
	text = xstrfmt("key line: %s.", line5);
	s = mask_string(m, text);
	is_str(s, "key line: ***.", "one line of the decoded key");
	free(s);
	free(text);
	s = mask_string(m, "x \"private_key_id\": \"3f9a1c0e8b7d6a5f\", y");
	is_str(s, "x *** y", "one line of the JSON");
	free(s);
	s = mask_string(m, "\"{\\n  \\\"type\\\": \\\"service_account\\\",");
	is_str(s, "\"{\\n  ***", "a line of the JSON, JSON-escaped");
	free(s);
	s = mask_string(m, "} and { and ],");
	is_str(s, "} and { and ],", "short lines are not masked alone");
	free(s);
	mask_free(m);
	strvec_clear(&secrets);
	free(cred);
	free(json);
	free(line5);
	free(pem);
}

static void test_overlap(void)
{
	struct strvec secrets = STRVEC_INIT;
	struct mask *m;
	char *s;

	strvec_push(&secrets, "abcdefgh12");
	strvec_push(&secrets, "gh12345678");
	strvec_push(&secrets, "line-one-secret\r\n  line-two-secret\r\n");
	m = mask_new(&secrets);
	s = mask_string(m, "xxabcdefgh12345678yy");
	is_str(s, "xx***yy", "overlapping values: one *** over both");
	free(s);
	s = feed_chunks(m, "xxabcdefgh12345678yy", 3);
	is_str(s, "xx***yy", "overlapping values, in chunks");
	free(s);
	s = mask_string(m, "<line-two-secret>");
	is_str(s, "<***>", "a CRLF line, trimmed");
	free(s);
	mask_free(m);
	strvec_clear(&secrets);

	/* Forms under 4 bytes are looked for too, beside longer ones. */
	strvec_push(&secrets, "#%");
	strvec_push(&secrets, "#%abcdefgh");
	m = mask_new(&secrets);
	s = feed_chunks(m, "1#%2 #%abcdefgh 3#%", 1);
	is_str(s, "1***2 *** 3***", "a 2-character value, and a longer one");
	free(s);
	mask_free(m);
	strvec_clear(&secrets);
}

/* 1500 lines: each is found, whatever order they come back in. */
static void test_many_lines(void)
{
	struct strvec secrets = STRVEC_INIT;
	struct strbuf v = STRBUF_INIT, text = STRBUF_INIT;
	struct strbuf want = STRBUF_INIT;
	unsigned seed = 5;
	struct mask *m;
	char *s;

	for (int l = 0; l < 1500; l++) {
		for (int i = 0; i < 40; i++) {
			seed = seed * 1103515245u + 12345u;
			strbuf_addch(&v, 'A' + (int)((seed >> 16) % 26));
		}
		strbuf_addch(&v, '\n');
	}
	strvec_push(&secrets, v.buf);
	m = mask_new(&secrets);
	for (int l = 1499; l >= 0; l -= 7) {
		strbuf_addf(&text, "%d:%.40s;", l, v.buf + 41 * l);
		strbuf_addf(&want, "%d:***;", l);
	}
	s = feed_chunks(m, text.buf, 1000);
	is_str(s, want.buf, "lines of a 1500-line value, out of order");
	free(s);
	mask_free(m);
	strvec_clear(&secrets);
	strbuf_release(&v);
	strbuf_release(&text);
	strbuf_release(&want);
}

/*
 * A 64 KiB secret in an 8 MiB stream fed in 4000-byte chunks: every copy
 * masked, however it is cut, and never more than the longest form - 1
 * held back.
 */
static void test_bounded(void)
{
	struct strvec secrets = STRVEC_INIT;
	struct strbuf secret = STRBUF_INIT, text = STRBUF_INIT;
	struct strbuf want = STRBUF_INIT, out = STRBUF_INIT;
	size_t max_held = 0, copies = 0;
	unsigned seed = 3;
	struct mask *m;

	for (int i = 0; i < 65536; i++) {
		seed = seed * 1103515245u + 12345u;
		strbuf_addch(&secret, 'a' + (int)((seed >> 16) % 26));
	}
	strvec_push(&secrets, secret.buf);
	m = mask_new(&secrets);
	while (text.len < (8u << 20)) {
		size_t gap = 1 + (text.len * 7919) % 70000;
		for (size_t i = 0; i < gap; i++)
			strbuf_addch(&text, '.');
		for (size_t i = 0; i < gap; i++)
			strbuf_addch(&want, '.');
		strbuf_add(&text, secret.buf, secret.len);
		strbuf_addstr(&want, "***");
		copies++;
	}
	for (size_t i = 0; i < text.len; i += 4000) {
		size_t len = text.len - i < 4000 ? text.len - i : 4000;
		mask_feed(m, text.buf + i, len, false, &out);
		if (mask_held(m) > max_held)
			max_held = mask_held(m);
	}
	mask_feed(m, "", 0, true, &out);
	ok(out.len == want.len && !memcmp(out.buf, want.buf, want.len),
	   "%zu copies of a 64 KiB secret masked in 4000-byte chunks", copies);
	ok(max_held < secret.len, "at most %zu bytes held back (secret %zu)",
	   max_held, secret.len);
	is_int(mask_held(m), 0, "nothing held after the final flush");
	mask_free(m);
	strvec_clear(&secrets);
	strbuf_release(&secret);
	strbuf_release(&text);
	strbuf_release(&want);
	strbuf_release(&out);
}

static void test_problems(void)
{
	ok(mask_value_problem("") != NULL, "an empty value is a problem");
	ok(mask_value_problem("ab") != NULL, "a 2-character value is one");
	ok(mask_value_problem("abcdefg") != NULL, "so is a 7-character one");
	ok(mask_value_problem("abcdefgh") == NULL, "8 characters are fine");
	ok(mask_value_problem("xq") && !strstr(mask_value_problem("xq"), "xq"),
	   "the value is not said");
}

/* Feed data in chunks of the given size; the name found, or NULL. */
static const char *scan_chunks(const struct mask *m, const char *data,
			       size_t n, size_t chunk)
{
	struct mask_scan *sc = mask_scan_new(m);
	const char *found = NULL;
	for (size_t i = 0; i < n && !found; i += chunk)
		found = mask_scan_feed(sc, data + i,
				       n - i < chunk ? n - i : chunk);
	mask_scan_free(sc);
	return found;
}

/* 256 KiB of filler that holds no form, with what at offset at. */
static void filler_with(struct strbuf *sb, const char *what, size_t at)
{
	strbuf_reset(sb);
	for (size_t i = 0; i < 256 * 1024; i++)
		strbuf_addch(sb, "0123456789 .,;:\n"[i % 16]);
	if (what)
		memcpy(sb->buf + at, what, strlen(what));
}

static void test_find(void)
{
	struct strvec values = STRVEC_INIT, names = STRVEC_INIT;
	char *pem = fake_pem(7), *line = line_of(pem, 11), *json;
	const char *api = "sk-ant-api03-Zx9Qw/Er\"ty-Uiop";
	struct strbuf sb = STRBUF_INIT;
	struct mask *m;
	struct mask_scan *sc;
	int bad = 0, split_bad = 0;

	strvec_push(&values, api);
	strvec_push(&names, "ANTHROPIC_API_KEY");
	strvec_push(&values, pem);
	strvec_push(&names, "PEM_KEY");
	strvec_push(&values, "pin1234");
	strvec_push(&names, "SHORT_PIN");
	m = mask_new_named(&values, &names);

	is_str(mask_find(m, api, strlen(api)), "ANTHROPIC_API_KEY",
	       "the whole value is found, by its name");
	is_str(mask_find(m, line, strlen(line)), "PEM_KEY",
	       "a line of a multi-line value is found");
	json = json_of(api, false);
	is_str(mask_find(m, json, strlen(json)), "ANTHROPIC_API_KEY",
	       "the JSON-escaped value is found");
	free(json);
	json = json_of(api, true);
	is_str(mask_find(m, json, strlen(json)), "ANTHROPIC_API_KEY",
	       "and with \\/ for /");
	free(json);
	json = json_of(pem, false);
	is_str(mask_find(m, json, strlen(json)), "PEM_KEY",
	       "the JSON-escaped PEM");
	free(json);
	ok(!mask_find(m, api, 7) && !mask_find(m, api + 3, 7),
	   "7 characters of a value are not");
	ok(!mask_find(m, "x pin1234 y", 11),
	   "a value under 8 characters is not looked for in files");
	{
		char *masked = mask_string(m, "x pin1234 y");
		is_str(masked, "x *** y", "(while output still masks it)");
		free(masked);
	}
	ok(!mask_find(m, line, strlen(line) - 1),
	   "a line cut short is not found");

	/*
	 * The line ending at each place from 64 KiB on: found in the first
	 * chunk only when it is whole there.
	 */
	for (size_t cut = 0; cut <= strlen(line); cut++) {
		size_t at = 65536 - cut;
		bool first, second;
		filler_with(&sb, line, at);
		sc = mask_scan_new(m);
		first = mask_scan_feed(sc, sb.buf, 65536) != NULL;
		second = !first && mask_scan_feed(sc, sb.buf + 65536,
						  sb.len - 65536) != NULL;
		if (cut == strlen(line) ? !first : !second)
			split_bad++;
		mask_scan_free(sc);
	}
	ok(!split_bad, "found in the chunk that completes it, at %zu splits",
	   strlen(line) + 1);
	/* Small chunks: the tail spans several of them. */
	filler_with(&sb, api, 100000);
	for (size_t chunk = 1; chunk <= 40; chunk++)
		if (!scan_chunks(m, sb.buf, 100100, chunk))
			bad++;
	filler_with(&sb, NULL, 0);
	for (size_t chunk = 1; chunk <= 40; chunk += 13)
		if (scan_chunks(m, sb.buf, sb.len, chunk))
			bad++;
	ok(!bad, "chunks of 1 to 40 bytes: found where it is, only there");

	/* A hole (zeros) between the halves: no value holds a NUL. */
	sc = mask_scan_new(m);
	ok(!mask_scan_feed(sc, api, 10), "half a value: nothing yet");
	mask_scan_break(sc);
	ok(!mask_scan_feed(sc, api + 10, strlen(api) - 10),
	   "the other half after a hole is not the value");
	mask_scan_free(sc);

	ok(!mask_find(NULL, api, strlen(api)), "no mask finds nothing");
	sc = mask_scan_new(NULL);
	ok(!mask_scan_feed(sc, api, strlen(api)), "nor does its scanner");
	mask_scan_free(sc);
	mask_free(m);

	m = mask_new(&values);
	is_str(mask_find(m, line, strlen(line)), "(unnamed)",
	       "mask_new: found, unnamed");
	mask_free(m);

	strbuf_release(&sb);
	strvec_clear(&values);
	strvec_clear(&names);
	free(pem);
	free(line);
}

int main(void)
{
	struct strvec secrets = STRVEC_INIT;
	const char *text = "key=sk-ant-SECRET1 and again sk-ant-SECRET1, "
			   "short hunter2 end";
	const char *want = "key=*** and again ***, short *** end";
	struct mask *m;
	char *s;

	strvec_push(&secrets, "sk-ant-SECRET1");
	strvec_push(&secrets, "hunter2");
	strvec_push(&secrets, "");
	m = mask_new(&secrets);
	for (size_t chunk = 1; chunk <= 20; chunk++) {
		s = feed_chunks(m, text, chunk);
		is_str(s, want, "masked across chunk boundaries of %zu",
		       chunk);
		free(s);
	}
	s = mask_string(m, "hunter2hunter2");
	is_str(s, "******", "adjacent occurrences");
	free(s);
	mask_free(m);

	m = mask_new(NULL);
	s = feed_chunks(m, "nothing to hide", 3);
	is_str(s, "nothing to hide", "no secrets: passes through");
	free(s);
	mask_free(m);
	strvec_clear(&secrets);

	test_multiline();
	test_json_credential();
	test_overlap();
	test_many_lines();
	test_bounded();
	test_problems();
	test_find();
	return done_testing();
}
