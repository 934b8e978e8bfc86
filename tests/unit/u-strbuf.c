#include "runner.h"
#include "fs.h"
#include "tap.h"

static void test_capped(void)
{
	struct strbuf sb;
	strbuf_init_capped(&sb, 8);
	is_int(strbuf_addstr(&sb, "12345"), 0, "append under the cap");
	is_int(strbuf_addstr(&sb, "6789"), -1, "append past the cap fails");
	is_str(sb.buf, "12345", "a failed append leaves the buffer alone");
	is_int(strbuf_addf(&sb, "%d", 678), 0, "formatted append up to the cap");
	is_int(strbuf_addch(&sb, 'x'), -1, "one byte past the cap fails");
	strbuf_release(&sb);
}

static void test_basic(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	is_str(sb.buf, "", "an empty strbuf is an empty string");
	strbuf_addf(&sb, "%s-%d", "a", 1);
	strbuf_addstr(&sb, "  \n");
	strbuf_rtrim(&sb);
	is_str(sb.buf, "a-1", "addf and rtrim");
	s = strbuf_detach(&sb, NULL);
	is_str(sb.buf, "", "detach leaves an empty strbuf");
	free(s);
}

static void test_strvec(void)
{
	struct strvec sv = STRVEC_INIT;
	ok(sv.v[0] == NULL, "an empty strvec is NULL-terminated");
	strvec_push(&sv, "a");
	strvec_pushf(&sv, "b%d", 2);
	is_int(sv.nr, 2, "two pushed");
	ok(sv.v[2] == NULL, "still NULL-terminated");
	is_int(strvec_find(&sv, "b2"), 1, "find");
	strvec_clear(&sv);
}

static void test_join(void)
{
	char *p = fs_join("/a/", "/b");
	is_str(p, "/a/b", "fs_join drops doubled slashes");
	free(p);
	p = fs_dirname("x/y/z");
	is_str(p, "x/y", "fs_dirname");
	free(p);
}

int main(void)
{
	test_basic();
	test_capped();
	test_strvec();
	test_join();
	return done_testing();
}
