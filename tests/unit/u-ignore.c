#include "runner.h"
#include "fs.h"
#include "ws-ignore.h"
#include "tap.h"

#include <sys/stat.h>
#include <time.h>

/*
 * Table-driven tests of the gitignore matcher (git's t3070-wildmatch
 * model). tests/t/t5000-ignore.sh checks the same code against git itself
 * on generated trees; these rows pin the semantics down one by one.
 */

/*
 * The glob matcher alone. "path" is the answer with '/'-aware matching
 * (git's WM_PATHNAME, as for anchored patterns), "flat" without it (as
 * for basename patterns).
 */
static const struct wm_row {
	const char *text, *pattern;
	int path, flat;
} wm_rows[] = {
	/* basics */
	{ "foo", "foo", 1, 1 },
	{ "foo", "bar", 0, 0 },
	{ "", "", 1, 1 },
	{ "foo", "???", 1, 1 },
	{ "foo", "??", 0, 0 },
	{ "foo", "*", 1, 1 },
	{ "foo", "f*", 1, 1 },
	{ "foo", "*f", 0, 0 },
	{ "foo", "*foo*", 1, 1 },
	{ "foobar", "*ob*a*r*", 1, 1 },
	{ "aaaaaaabababab", "*ab", 1, 1 },
	{ "foo*", "foo\\*", 1, 1 },
	{ "foobar", "foo\\*bar", 0, 0 },
	{ "f\\oo", "f\\\\oo", 1, 1 },
	{ "ball", "*[al]?", 1, 1 },
	{ "ten", "[ten]", 0, 0 },
	{ "ten", "**[!te]", 1, 1 },
	{ "ten", "**[!ten]", 0, 0 },
	{ "ten", "t[a-g]n", 1, 1 },
	{ "ten", "t[!a-g]n", 0, 0 },
	{ "ton", "t[!a-g]n", 1, 1 },
	{ "ton", "t[^a-g]n", 1, 1 },
	{ "a]b", "a[]]b", 1, 1 },
	{ "a-b", "a[]-]b", 1, 1 },
	{ "a]b", "a[]-]b", 1, 1 },
	{ "aab", "a[]-]b", 0, 0 },
	{ "aab", "a[]a-]b", 1, 1 },
	{ "]", "]", 1, 1 },
	{ "#a", "\\#a", 1, 1 },
	{ "!a", "\\!a", 1, 1 },
	{ "a ", "a\\ ", 1, 1 },
	/* '/' and "**" */
	{ "foo/baz/bar", "foo*bar", 0, 1 },
	{ "foo/baz/bar", "foo**bar", 0, 1 },
	{ "foobazbar", "foo**bar", 1, 1 },
	{ "foo/baz/bar", "foo/**/bar", 1, 1 },
	{ "foo/baz/bar", "foo/**/**/bar", 1, 0 },
	{ "foo/b/a/z/bar", "foo/**/bar", 1, 1 },
	{ "foo/b/a/z/bar", "foo/**/**/bar", 1, 1 },
	{ "foo/bar", "foo/**/bar", 1, 0 },
	{ "foo/bar", "foo/**/**/bar", 1, 0 },
	{ "foo/bar", "foo?bar", 0, 1 },
	{ "foo/bar", "foo[/]bar", 0, 1 },
	{ "foo/bar", "foo[^a-z]bar", 0, 1 },
	{ "foo/bar", "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", 0, 1 },
	{ "foo-bar", "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", 1, 1 },
	{ "foo", "**/foo", 1, 0 },
	{ "XXX/foo", "**/foo", 1, 1 },
	{ "bar/baz/foo", "**/foo", 1, 1 },
	{ "bar/baz/foo", "*/foo", 0, 1 },
	{ "foo/bar/baz", "**/bar*", 0, 1 },
	{ "deep/foo/bar/baz", "**/bar/*", 1, 1 },
	{ "deep/foo/bar/baz/", "**/bar/*", 0, 1 },
	{ "deep/foo/bar/baz/", "**/bar/**", 1, 1 },
	{ "deep/foo/bar", "**/bar/*", 0, 0 },
	{ "deep/foo/bar/", "**/bar/**", 1, 1 },
	{ "foo/bar/baz", "**/bar**", 0, 1 },
	{ "foo/bar/baz/x", "*/bar/**", 1, 1 },
	{ "deep/foo/bar/baz/x", "*/bar/**", 0, 1 },
	{ "deep/foo/bar/baz/x", "**/bar/*/*", 1, 1 },
	{ "a/b", "a/**", 1, 1 },
	{ "a", "a/**", 0, 0 },
	{ "a/", "a/**", 1, 1 },
	{ "x/y/z", "**", 1, 1 },
	{ "x/y/z", "x/**/", 0, 0 },
	{ "x/y/z/", "x/**/", 1, 1 },
	{ "a/b", "a\\/**", 1, 1 },
	{ "abc", "a**c", 1, 1 },
	{ "a/b/c", "a**c", 0, 1 },
	/* malformed and odd patterns */
	{ "acrt", "a[c-c]st", 0, 0 },
	{ "acrt", "a[c-c]rt", 1, 1 },
	{ "]", "[!]-]", 0, 0 },
	{ "a", "[!]-]", 1, 1 },
	{ "", "\\", 0, 0 },
	{ "\\", "\\", 0, 0 },
	{ "XXX/\\", "*/\\", 0, 0 },
	{ "XXX/\\", "*/\\\\", 1, 1 },
	{ "@foo", "@foo", 1, 1 },
	{ "foo", "@foo", 0, 0 },
	{ "[ab]", "\\[ab]", 1, 1 },
	{ "[ab]", "[[]ab]", 1, 1 },
	{ "[ab]", "[[:]ab]", 1, 1 },
	{ "[ab]", "[[::]ab]", 0, 0 },
	{ "[ab]", "[[:digit]ab]", 1, 1 },
	{ "[ab]", "[\\[:]ab]", 1, 1 },
	{ "?a?b", "\\??\\?b", 1, 1 },
	{ "abc", "\\a\\b\\c", 1, 1 },
	{ "foo", "", 0, 0 },
	{ "foo/bar/baz/to", "**/t[o]", 1, 1 },
	{ "ab", "a[]b", 0, 0 },
	{ "a[]b", "a[]b", 0, 0 },
	{ "ab[", "ab[", 0, 0 },
	{ "ab", "[!", 0, 0 },
	{ "ab", "[-", 0, 0 },
	{ "-", "[-]", 1, 1 },
	{ "-", "[a-", 0, 0 },
	{ "-", "[!a-", 0, 0 },
	{ "-", "[--A]", 1, 1 },
	{ "5", "[--A]", 1, 1 },
	{ " ", "[ --]", 1, 1 },
	{ "$", "[ --]", 1, 1 },
	{ "-", "[ --]", 1, 1 },
	{ "0", "[ --]", 0, 0 },
	{ "-", "[---]", 1, 1 },
	{ "-", "[------]", 1, 1 },
	{ "j", "[a-e-n]", 0, 0 },
	{ "-", "[a-e-n]", 1, 1 },
	{ "a", "[!------]", 1, 1 },
	{ "[", "[]-a]", 0, 0 },
	{ "^", "[]-a]", 1, 1 },
	{ "^", "[!]-a]", 0, 0 },
	{ "[", "[!]-a]", 1, 1 },
	{ "^", "[a^bc]", 1, 1 },
	{ "-b]", "[a-]b]", 1, 1 },
	{ "\\", "[\\]", 0, 0 },
	{ "\\", "[\\\\]", 1, 1 },
	{ "\\", "[!\\\\]", 0, 0 },
	{ "G", "[A-\\\\]", 1, 1 },
	{ "aaabbb", "b*a", 0, 0 },
	{ "aabcaa", "*ba*", 0, 0 },
	{ ",", "[,]", 1, 1 },
	{ ",", "[\\\\,]", 1, 1 },
	{ "\\", "[\\\\,]", 1, 1 },
	{ "-", "[,-.]", 1, 1 },
	{ "+", "[,-.]", 0, 0 },
	{ "-.]", "[,-.]", 0, 0 },
	{ "2", "[\\1-\\3]", 1, 1 },
	{ "3", "[\\1-\\3]", 1, 1 },
	{ "4", "[\\1-\\3]", 0, 0 },
	{ "\\", "[[-\\]]", 1, 1 },
	{ "[", "[[-\\]]", 1, 1 },
	{ "]", "[[-\\]]", 1, 1 },
	{ "-", "[[-\\]]", 0, 0 },
	{ "]", "[\\\\-^]", 1, 1 },
	{ "[", "[\\\\-^]", 0, 0 },
	{ "-", "[\\-_]", 1, 1 },
	{ "]", "[\\]]", 1, 1 },
	{ "\\]", "[\\]]", 0, 0 },
	{ "\\", "[\\]]", 0, 0 },
	/* character classes (git's ASCII ctype) */
	{ "a1B", "[[:alpha:]][[:digit:]][[:upper:]]", 1, 1 },
	{ "a", "[[:digit:][:upper:][:space:]]", 0, 0 },
	{ "A", "[[:digit:][:upper:][:space:]]", 1, 1 },
	{ "1", "[[:digit:][:upper:][:space:]]", 1, 1 },
	{ "1", "[[:digit:][:upper:][:spaci:]]", 0, 0 },
	{ " ", "[[:digit:][:upper:][:space:]]", 1, 1 },
	{ ".", "[[:digit:][:upper:][:space:]]", 0, 0 },
	{ ".", "[[:digit:][:punct:][:space:]]", 1, 1 },
	{ "5", "[[:xdigit:]]", 1, 1 },
	{ "f", "[[:xdigit:]]", 1, 1 },
	{ "D", "[[:xdigit:]]", 1, 1 },
	{ "g", "[[:xdigit:]]", 0, 0 },
	{ "_", "[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:]"
	       "[:lower:][:print:][:punct:][:space:][:upper:][:xdigit:]]",
	  1, 1 },
	{ ".", "[^[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:lower:]"
	       "[:space:][:upper:][:xdigit:]]", 1, 1 },
	{ "5", "[a-c[:digit:]x-z]", 1, 1 },
	{ "b", "[a-c[:digit:]x-z]", 1, 1 },
	{ "y", "[a-c[:digit:]x-z]", 1, 1 },
	{ "q", "[a-c[:digit:]x-z]", 0, 0 },
	{ "\v", "[[:space:]]", 0, 0 },
	{ "\r", "[[:space:]]", 1, 1 },
	{ "\t", "[[:blank:]]", 1, 1 },
	{ "\x7f", "[[:cntrl:]]", 1, 1 },
	{ "~", "[[:punct:]]", 1, 1 },
	{ " ", "[[:graph:]]", 0, 0 },
	{ " ", "[[:print:]]", 1, 1 },
	{ "\xc3", "[[:alpha:][:punct:][:print:]]", 0, 0 },
	{ "\xc3", "[!a]", 1, 1 },
	{ "a", "[[:lower:]]", 1, 1 },
	{ "A", "[[:lower:]]", 0, 0 },
	{ "a", "[A-Z]", 0, 0 },
	{ "a", "[B-a]", 1, 1 },
	{ "z", "[Z-y]", 0, 0 },
	/* recursion */
	{ "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1",
	  "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", 1, 1 },
	{ "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1",
	  "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", 0, 0 },
	{ "-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1",
	  "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", 0, 0 },
	{ "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1",
	  "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", 1, 1 },
	{ "XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1",
	  "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", 0, 0 },
	{ "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt",
	  "**/*a*b*g*n*t", 1, 1 },
	{ "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz",
	  "**/*a*b*g*n*t", 0, 0 },
	{ "foo", "*/*/*", 0, 0 },
	{ "foo/bar", "*/*/*", 0, 0 },
	{ "foo/bba/arr", "*/*/*", 1, 1 },
	{ "foo/bb/aa/rr", "*/*/*", 0, 1 },
	{ "foo/bb/aa/rr", "**/**/**", 1, 1 },
	{ "abcXdefXghi", "*X*i", 1, 1 },
	{ "ab/cXd/efXg/hi", "*X*i", 0, 1 },
	{ "ab/cXd/efXg/hi", "*/*X*/*/*i", 1, 1 },
	{ "ab/cXd/efXg/hi", "**/*X*/**/*i", 1, 1 },
	{ "foo", "fo", 0, 0 },
	{ "foo/bar", "foo/bar", 1, 1 },
	{ "foo/bar", "foo/*", 1, 1 },
	{ "foo/bba/arr", "foo/*", 0, 1 },
	{ "foo/bba/arr", "foo/**", 1, 1 },
	{ "foo/bba/arr", "foo*", 0, 1 },
	{ "foo/bba/arr", "foo**", 0, 1 },
	{ "foo/bba/arr", "foo/*arr", 0, 1 },
	{ "foo/bba/arr", "foo/**arr", 0, 1 },
	{ "foo/bba/arr", "foo/*z", 0, 0 },
	{ "foo/bba/arr", "foo/**z", 0, 0 },
	{ "ab/cXd/efXg/hi", "*Xg*i", 0, 1 },
};

static void test_wildmatch(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(wm_rows); i++) {
		const struct wm_row *r = &wm_rows[i];

		is_int(ignore_wildmatch(r->pattern, r->text, true), r->path,
		       "wildmatch '%s' '%s' (pathname)", r->pattern, r->text);
		is_int(ignore_wildmatch(r->pattern, r->text, false), r->flat,
		       "wildmatch '%s' '%s'", r->pattern, r->text);
	}
}

/*
 * One .gitignore at the root: "match" is ignore_match (this path alone),
 * "excl" is ignore_path_excluded (parents too). Checked against
 * `git check-ignore` when written.
 */
static const struct gi_row {
	const char *text, *path;
	int is_dir, match, excl;
} gi_rows[] = {
	/* basename patterns match at any depth */
	{ "foo", "foo", 0, 1, 1 },
	{ "foo", "a/foo", 0, 1, 1 },
	{ "foo", "a/b/foo", 1, 1, 1 },
	{ "foo", "foo/bar", 0, 0, 1 },
	{ "foo", "foobar", 0, 0, 0 },
	{ "foo", "xfoo", 0, 0, 0 },
	{ "foo", "a/foo.c", 0, 0, 0 },
	/* directory only */
	{ "foo/", "foo", 0, 0, 0 },
	{ "foo/", "foo", 1, 1, 1 },
	{ "foo/", "foo/x", 0, 0, 1 },
	{ "foo/", "a/foo", 1, 1, 1 },
	{ "foo/", "a/foo", 0, 0, 0 },
	{ "foo/", "a/foo/b/c", 0, 0, 1 },
	{ "**/", "x", 1, 1, 1 },
	{ "**/", "x", 0, 0, 0 },
	{ "*/", "x/y", 0, 0, 1 },
	{ "foo//", "foo", 1, 0, 0 },
	/* anchoring: a leading or a middle '/' */
	{ "/foo", "foo", 0, 1, 1 },
	{ "/foo", "a/foo", 0, 0, 0 },
	{ "/foo", "foo/x", 0, 0, 1 },
	{ "a/b", "a/b", 0, 1, 1 },
	{ "a/b", "x/a/b", 0, 0, 0 },
	{ "a/b", "a/b/c", 0, 0, 1 },
	{ "a/b/", "a/b", 1, 1, 1 },
	{ "a/b/", "a/b", 0, 0, 0 },
	{ "/a/b", "a/b", 0, 1, 1 },
	{ "doc/*.txt", "doc/a.txt", 0, 1, 1 },
	{ "doc/*.txt", "doc/x/a.txt", 0, 0, 0 },
	{ "doc/**/*.txt", "doc/x/a.txt", 0, 1, 1 },
	{ "doc/**/*.txt", "doc/a.txt", 0, 1, 1 },
	{ "*/bar", "x/bar", 0, 1, 1 },
	{ "*/bar", "x/y/bar", 0, 0, 0 },
	{ "*/bar", "bar", 0, 0, 0 },
	{ "/*", "a", 0, 1, 1 },
	{ "/*", "a/b", 0, 0, 1 },
	{ "/*.c", "x.c", 0, 1, 1 },
	{ "/*.c", "d/x.c", 0, 0, 0 },
	/* "**" */
	{ "**/foo", "foo", 0, 1, 1 },
	{ "**/foo", "a/b/foo", 0, 1, 1 },
	{ "**/foo/bar", "foo/bar", 0, 1, 1 },
	{ "**/foo/bar", "x/y/foo/bar", 0, 1, 1 },
	{ "**/foo/bar", "x/foo/baz", 0, 0, 0 },
	{ "a/**", "a", 1, 0, 0 },
	{ "a/**", "a/x", 0, 1, 1 },
	{ "a/**", "a/x/y", 0, 1, 1 },
	{ "a/**/b", "a/b", 0, 1, 1 },
	{ "a/**/b", "a/x/y/b", 0, 1, 1 },
	{ "a/**/b", "a/xb", 0, 0, 0 },
	{ "a/**/b", "a/x/b/c", 0, 0, 1 },
	{ "a/b/**/c", "a/b/c", 0, 1, 1 },
	{ "**", "x/y/z", 0, 1, 1 },
	{ "a**b", "axxb", 0, 1, 1 },
	{ "a**b", "q/axb", 0, 1, 1 },
	{ "a/b**", "a/bc", 0, 1, 1 },
	{ "a/b**", "a/b/c", 0, 1, 1 },
	/* git's quirk: "**" right after the literal prefix spans dirs */
	{ "foo**/bar", "foox/y/bar", 0, 1, 1 },
	{ "foo**/bar", "foo/bar", 0, 1, 1 },
	{ "a/b**\n!a/bx/", "a/bx/c", 0, 1, 1 },
	/* ... but not when "**" is followed by more than a '/' */
	{ "x/**y/z", "x/a/b/y/z", 0, 0, 0 },
	{ "x/**y/z", "x/aby/z", 0, 1, 1 },
	/* '*', '?', brackets */
	{ "*.o", "x.o", 0, 1, 1 },
	{ "*.o", "d/x.o", 1, 1, 1 },
	{ "*.o", ".o", 0, 1, 1 },
	{ "*.o", "x.oo", 0, 0, 0 },
	{ "*", "a/b", 0, 1, 1 },
	{ "?", "a", 0, 1, 1 },
	{ "?", "ab", 0, 0, 0 },
	{ "a?c", "a/c", 0, 0, 0 },
	{ "[a-c]x", "bx", 0, 1, 1 },
	{ "[a-c]x", "dx", 0, 0, 0 },
	{ "[!a]x", "bx", 0, 1, 1 },
	{ "[!a]x", "ax", 0, 0, 0 },
	{ "[^a]x", "bx", 0, 1, 1 },
	{ "[^a]x", "ax", 0, 0, 0 },
	{ "[0-9][0-9]", "42", 0, 1, 1 },
	{ "d/[a-c]*", "d/b", 0, 1, 1 },
	{ "[", "[", 0, 0, 0 },
	{ "a[", "a[", 0, 0, 0 },
	/* escapes, comments, spaces */
	{ "\\#foo", "#foo", 0, 1, 1 },
	{ "#foo", "#foo", 0, 0, 0 },
	{ " #foo", " #foo", 0, 1, 1 },
	{ "\\!foo", "!foo", 0, 1, 1 },
	{ "\\*", "*", 0, 1, 1 },
	{ "\\*", "x", 0, 0, 0 },
	{ "\\?", "?", 0, 1, 1 },
	{ "\\?", "x", 0, 0, 0 },
	{ "\\[a]", "[a]", 0, 1, 1 },
	{ "foo\\ ", "foo ", 0, 1, 1 },
	{ "foo\\ ", "foo", 0, 0, 0 },
	{ "foo  ", "foo", 0, 1, 1 },
	{ "foo  ", "foo  ", 0, 0, 0 },
	{ "foo \\  ", "foo  ", 0, 1, 1 },
	{ "foo\t", "foo\t", 0, 1, 1 },
	{ "foo\t", "foo", 0, 0, 0 },
	{ "foo\\", "foo", 0, 0, 0 },
	{ "foo\\", "foo\\", 0, 0, 0 },
	{ "  ", " ", 0, 0, 0 },
	{ "\\ ", " ", 0, 1, 1 },
	{ "\n\n foo\n\n", " foo", 0, 1, 1 },
	{ "\n\n foo\n\n", "foo", 0, 0, 0 },
	{ "/", "x", 1, 0, 0 },
	{ "!", "x", 0, 0, 0 },
	/* line endings */
	{ "foo\r\nbar\r\n", "foo", 0, 1, 1 },
	{ "foo\r\nbar\r\n", "bar", 0, 1, 1 },
	{ "foo\r\nbar", "bar", 0, 1, 1 },
	{ "foo\r\nbar\r", "bar", 0, 1, 1 },
	{ "foo  \r\n", "foo", 0, 1, 1 },
	{ "foo\r\r\n", "foo\r", 0, 1, 1 },
	{ "foo\rbar\n", "foo\rbar", 0, 1, 1 },
	{ "#x\r\n!a\r\n", "a", 0, 0, 0 },
	{ "dir/\r\n", "dir", 1, 1, 1 },
	{ "\xef\xbb\xbf" "foo", "foo", 0, 1, 1 },
	{ "\xef\xbb\xbf#foo", "#foo", 0, 0, 0 },
	/* negation: last match wins */
	{ "*.log\n!keep.log", "keep.log", 0, 0, 0 },
	{ "*.log\n!keep.log", "a.log", 0, 1, 1 },
	{ "!keep.log\n*.log", "keep.log", 0, 1, 1 },
	{ "*.c\n!*.c", "x.c", 0, 0, 0 },
	{ "*.c\n!*.c\n*.c", "x.c", 0, 1, 1 },
	/* no re-including inside an excluded directory */
	{ "build/\n!build/keep", "build/keep", 0, 0, 1 },
	{ "build\n!build/keep", "build/keep", 0, 0, 1 },
	{ "build/*\n!build/keep", "build/keep", 0, 0, 0 },
	{ "build/*\n!build/keep", "build/other", 0, 1, 1 },
	{ "build/*\n!build/keep", "build", 1, 0, 0 },
	{ "build/*\n!build/keep/", "build/keep/x", 0, 0, 0 },
	{ "build/**\n!build/keep", "build/keep", 0, 0, 0 },
	{ "build/**\n!build/keep", "build/keep/x", 0, 1, 1 },
	{ "/*\n!/keep", "keep/x", 0, 0, 0 },
	{ "/*\n!/keep", "other/x", 0, 0, 1 },
	{ "/*\n!/keep/", "keep", 0, 1, 1 },
	{ "*\n!*/\n!*.c", "a/b/x.c", 0, 0, 0 },
	{ "*\n!*/\n!*.c", "a/b/x.h", 0, 1, 1 },
	{ "*\n!*.c", "a/x.c", 0, 0, 1 },
	{ "a/\n!a/", "a/x", 0, 0, 0 },
	{ "a/\n!a", "a/x", 0, 0, 0 },
};

static void test_gitignore_rows(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(gi_rows); i++) {
		const struct gi_row *r = &gi_rows[i];
		struct ignore *ig = ignore_new();

		ignore_add_text(ig, "", r->text, strlen(r->text));
		is_int(ignore_match(ig, r->path, r->is_dir), r->match,
		       "row %zu: match '%s'%s", i, r->path,
		       r->is_dir ? " (dir)" : "");
		is_int(ignore_path_excluded(ig, r->path, r->is_dir), r->excl,
		       "row %zu: excluded '%s'%s", i, r->path,
		       r->is_dir ? " (dir)" : "");
		ignore_free(ig);
	}
}

/* A NUL inside a line ends the line, as in git's C strings. */
static void test_nul_in_text(void)
{
	struct ignore *ig = ignore_new();
	static const char text[] = "foo\0bar\nbaz";

	ignore_add_text(ig, "", text, sizeof(text) - 1);
	is_int(ignore_match(ig, "foo", false), 1, "NUL: before it counts");
	is_int(ignore_match(ig, "foobar", false), 0, "NUL: after it not");
	is_int(ignore_match(ig, "baz", false), 1, "NUL: next line counts");
	ignore_free(ig);
}

/* Several sources: nested bases and their precedence. */
struct src_def {
	const char *base, *text;
};

static const struct nest_row {
	struct src_def src[4];
	const char *path;
	int is_dir, match, excl;
} nest_rows[] = {
	/* a nested file's patterns are relative to its directory */
	{ { { "sub", "/x" } }, "sub/x", 0, 1, 1 },
	{ { { "sub", "/x" } }, "x", 0, 0, 0 },
	{ { { "sub", "/x" } }, "sub/a/x", 0, 0, 0 },
	{ { { "sub", "x" } }, "sub/a/x", 0, 1, 1 },
	{ { { "sub", "x" } }, "x", 0, 0, 0 },
	{ { { "sub", "x" } }, "subx/x", 0, 0, 0 },
	{ { { "sub", "x" } }, "sub", 1, 0, 0 },
	{ { { "sub", "*" } }, "sub", 1, 0, 0 },
	{ { { "sub", "*" } }, "sub/q", 0, 1, 1 },
	{ { { "a/b", "c/d" } }, "a/b/c/d", 0, 1, 1 },
	{ { { "a/b", "c/d" } }, "a/c/d", 0, 0, 0 },
	{ { { "a/b", "c/d" } }, "c/d", 0, 0, 0 },
	{ { { "a/b", "**/d" } }, "a/b/d", 0, 1, 1 },
	{ { { "a/b", "**/d" } }, "a/d", 0, 0, 0 },
	{ { { "a/b/", "d" } }, "a/b/d", 0, 1, 1 },
	{ { { "./a", "d" } }, "a/d", 0, 1, 1 },
	{ { { ".", "d" } }, "d", 0, 1, 1 },
	/* deeper (later) sources beat the root's */
	{ { { "", "*.log" }, { "sub", "!keep.log" } },
	  "sub/keep.log", 0, 0, 0 },
	{ { { "", "*.log" }, { "sub", "!keep.log" } },
	  "keep.log", 0, 1, 1 },
	{ { { "", "*.log" }, { "sub", "!keep.log" } },
	  "sub/a.log", 0, 1, 1 },
	{ { { "", "!keep.log" }, { "sub", "*.log" } },
	  "sub/keep.log", 0, 1, 1 },
	/* later additions win whatever their depth */
	{ { { "sub", "!a.log" }, { "", "*.log" } }, "sub/a.log", 0, 1, 1 },
	{ { { "", "*.log" }, { "sub", "!a.log" }, { "", "x" } },
	  "sub/a.log", 0, 0, 0 },
	/* a parent directory excluded by the root: no way back */
	{ { { "", "sub/" }, { "sub", "!x" } }, "sub/x", 0, 0, 1 },
	{ { { "", "sub/*" }, { "sub", "!x" } }, "sub/x", 0, 0, 0 },
	{ { { "", "sub/*" }, { "sub", "!x" } }, "sub/y", 0, 1, 1 },
	{ { { "", "d/" }, { "a/d", "!x" } }, "a/d/x", 0, 0, 1 },
	{ { { "a", "d" }, { "a/d", "!x" } }, "a/d/x", 0, 0, 1 },
	{ { { "a", "!d" }, { "", "d" } }, "a/d/x", 0, 0, 1 },
	{ { { "", "d" }, { "a", "!d" } }, "a/d/x", 0, 0, 0 },
	/* sources on sibling directories do not interfere */
	{ { { "a", "*" }, { "b", "!*" } }, "a/x", 0, 1, 1 },
	{ { { "a", "*" }, { "b", "!*" } }, "b/x", 0, 0, 0 },
	{ { { "ab", "*" } }, "a/b", 0, 0, 0 },
	{ { { "a", "*" } }, "ab/x", 0, 0, 0 },
	/* same base twice: the second text goes after the first */
	{ { { "a", "x" }, { "a", "!x" } }, "a/x", 0, 0, 0 },
	{ { { "a", "!x" }, { "a", "x" } }, "a/x", 0, 1, 1 },
};

static void test_nested(void)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(nest_rows); i++) {
		const struct nest_row *r = &nest_rows[i];
		struct ignore *ig = ignore_new();

		for (j = 0; j < ARRAY_SIZE(r->src) && r->src[j].text; j++)
			ignore_add_text(ig, r->src[j].base, r->src[j].text,
					strlen(r->src[j].text));
		is_int(ignore_match(ig, r->path, r->is_dir), r->match,
		       "nested %zu: match '%s'", i, r->path);
		is_int(ignore_path_excluded(ig, r->path, r->is_dir), r->excl,
		       "nested %zu: excluded '%s'", i, r->path);
		ignore_free(ig);
	}
}

static void test_add_pattern(void)
{
	struct ignore *ig = ignore_new();

	is_int(ignore_match(ig, "x", false), 0, "an empty matcher: no match");
	is_int(ignore_path_excluded(ig, "a/b", false), 0,
	       "an empty matcher: nothing excluded");
	is_int(ignore_match(ig, "", false), 0, "the empty path never matches");
	ignore_add_pattern(ig, "node_modules/");
	ignore_add_pattern(ig, "*.log");
	ignore_add_pattern(ig, "!keep.log");
	ignore_add_pattern(ig, "#comment");
	ignore_add_pattern(ig, "\\#hash");
	ignore_add_pattern(ig, "sp  ");
	ignore_add_pattern(ig, "");
	ignore_add_pattern(ig, "nl\nx");
	is_int(ignore_match(ig, "node_modules", true), 1, "pattern: dir");
	is_int(ignore_match(ig, "node_modules", false), 0,
	       "pattern: dir-only skips a file");
	is_int(ignore_path_excluded(ig, "a/node_modules/x/y.js", false), 1,
	       "pattern: inside an excluded dir");
	is_int(ignore_match(ig, "x/a.log", false), 1, "pattern: *.log");
	is_int(ignore_match(ig, "x/keep.log", false), 0,
	       "pattern: a later '!' re-includes");
	is_int(ignore_match(ig, "#comment", false), 0,
	       "pattern: '#' starts a comment");
	is_int(ignore_match(ig, "#hash", false), 1, "pattern: escaped '#'");
	is_int(ignore_match(ig, "sp", false), 1,
	       "pattern: trailing spaces stripped");
	is_int(ignore_match(ig, "nl\nx", false), 1,
	       "pattern: a newline is part of the pattern");
	is_int(ignore_match(ig, "nl", false), 0,
	       "pattern: not split at the newline");
	ignore_add_pattern(ig, "*.log");
	is_int(ignore_match(ig, "x/keep.log", false), 1,
	       "pattern: a later pattern wins again");
	ignore_free(ig);
	ignore_free(NULL);
}

/* Thousands of bases: the hash table grows and keeps finding them. */
static void test_many_sources(void)
{
	struct ignore *ig = ignore_new();
	struct strbuf base = STRBUF_INIT, path = STRBUF_INIT;
	int i, bad = 0;

	for (i = 0; i < 3000; i++) {
		strbuf_reset(&base);
		strbuf_addf(&base, "d%d/e%d", i % 97, i);
		if (i % 2)
			ignore_add_text(ig, base.buf, "x", 1);
		else
			ignore_add_text(ig, base.buf, "!x\ny", 4);
	}
	ignore_add_text(ig, "", "x", 1);
	for (i = 0; i < 3000; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "d%d/e%d/x", i % 97, i);
		/* the root's "x" came last and wins everywhere */
		bad += ignore_match(ig, path.buf, false) != 1;
		strbuf_reset(&path);
		strbuf_addf(&path, "d%d/e%d/y", i % 97, i);
		bad += ignore_match(ig, path.buf, false) != !(i % 2);
		strbuf_reset(&path);
		strbuf_addf(&path, "d%d/e%dy/y", i % 97, i);
		bad += ignore_match(ig, path.buf, false) != 0;
	}
	is_int(bad, 0, "3000 sources: each applies to its own directory");
	strbuf_release(&base);
	strbuf_release(&path);
	ignore_free(ig);
}

/* More than 32 sources apply to one path (the candidate list spills). */
static void test_deep_sources(void)
{
	struct ignore *ig = ignore_new();
	struct strbuf base = STRBUF_INIT;
	int i;

	for (i = 0; i < 40; i++) {
		if (i % 2)
			ignore_add_text(ig, base.buf, "!f", 2);
		else
			ignore_add_text(ig, base.buf, "f", 1);
		ignore_add_text(ig, base.buf, "g", 1);
		strbuf_addf(&base, "%sd", base.len ? "/" : "");
	}
	strbuf_addstr(&base, "/f");
	is_int(ignore_match(ig, base.buf, false), 0,
	       "40 levels: the deepest ('!f') wins");
	ignore_add_text(ig, "d/d", "f", 1);
	is_int(ignore_match(ig, base.buf, false), 1,
	       "40 levels: a later shallow source wins");
	strbuf_release(&base);
	ignore_free(ig);
}

static void test_add_file(void)
{
	struct strbuf err = STRBUF_INIT;
	char tmpl[] = "/tmp/u-ignore.XXXXXX";
	char *dir = mkdtemp(tmpl), *p = NULL, *q = NULL;
	struct ignore *ig = ignore_new();
	FILE *f;

	if (!ok(dir != NULL, "a temporary directory"))
		goto out;
	p = fs_join(dir, "gi");
	q = fs_join(dir, "link");
	is_int(ignore_add_file(ig, "", p, &err), 0, "missing file: skipped");
	f = fopen(p, "w");
	if (!ok(f != NULL, "%s created", p))
		goto out;
	fputs("\xef\xbb\xbf*.tmp\r\n!keep.tmp\r\n", f);
	fclose(f);
	is_int(ignore_add_file(ig, "sub", p, &err), 0, "file read");
	is_int(ignore_match(ig, "sub/a.tmp", false), 1, "file: pattern");
	is_int(ignore_match(ig, "sub/keep.tmp", false), 0, "file: negation");
	is_int(ignore_match(ig, "a.tmp", false), 0, "file: base respected");
	ok(symlink("gi", q) == 0, "symlink made");
	is_int(ignore_add_file(ig, "", q, &err), 0, "symlink: skipped");
	is_int(ignore_match(ig, "a.tmp", false), 0,
	       "symlink: its patterns are not used (git does not follow)");
	is_int(ignore_add_file(ig, "", dir, &err), 0, "directory: skipped");
	if (geteuid() != 0) {
		chmod(p, 0);
		is_int(ignore_add_file(ig, "", p, &err), -1,
		       "unreadable: an error");
		ok(strstr(err.buf, "cannot open") && strstr(err.buf, p),
		   "unreadable: the message names the file (%s)", err.buf);
		chmod(p, 0644);
	} else {
		skip("running as root: every file is readable");
		skip("running as root: every file is readable");
	}
	/* sparse: costs no disk space */
	ok(truncate(p, 101L * 1024 * 1024) == 0, "a 101 MiB file made");
	strbuf_reset(&err);
	is_int(ignore_add_file(ig, "", p, &err), -1, "too large: an error");
	ok(strstr(err.buf, "larger than 100 MiB") && strstr(err.buf, p),
	   "too large: the message says so (%s)", err.buf);
	is_int(ignore_match(ig, "a.tmp", false), 0, "errors add nothing");
out:
	if (p)
		unlink(p);
	if (q)
		unlink(q);
	if (dir)
		rmdir(dir);
	free(p);
	free(q);
	strbuf_release(&err);
	ignore_free(ig);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 20,000 paths x 50 patterns (a snapshot's load): well under a second. */
static void test_speed(void)
{
	static const char *const pats[] = {
		"*.o", "*.a", "*.so", "*.log", "*.tmp", "*.swp", "*~",
		".DS_Store", "Thumbs.db", "node_modules/", "build/", "dist/",
		"/out", "/coverage", "target/", "__pycache__/", "*.py[cod]",
		".venv/", "*.egg-info/", ".tox/", "vendor/**/test",
		"docs/_build/", "**/tmp/**", "*.bak", "*.orig", "*.rej",
		"core", "core.[0-9]*", "*.class", "*.jar", ".idea/",
		".vscode/", "*.iml", "src/**/generated/", "!src/keep/**",
		"/config/local.*", "secret?.txt", "[Dd]ebug/", "[Rr]elease/",
		"x64/", "*.pdb", "*.ilk", "*.exe", "lib/*.dll", "*.cache",
		"cache/", "!cache/.keep", "logs/**/*.gz", "a/b/c/d/e", "zz*",
	};
	struct ignore *ig = ignore_new();
	struct strvec paths = STRVEC_INIT;
	double t0, dt;
	size_t i;
	long hits = 0;

	for (i = 0; i < ARRAY_SIZE(pats); i++)
		ignore_add_pattern(ig, pats[i]);
	ignore_add_text(ig, "src", "*.gen.c\n!keep.gen.c\n", 20);
	for (i = 0; i < 20000; i++)
		strvec_pushf(&paths, "%s/mod%zu/sub%zu/file%zu.%s",
			     i % 3 ? "src" : "lib", i % 50, i % 7, i,
			     i % 5 ? "c" : "o");
	t0 = now_sec();
	for (i = 0; i < paths.nr; i++)
		hits += ignore_match(ig, paths.v[i], false);
	dt = now_sec() - t0;
	is_int(hits, 4000, "speed: the expected number of matches");
	ok(dt < 2.0, "speed: 20000 paths x 50 patterns in %.3f s", dt);
	strvec_clear(&paths);
	ignore_free(ig);
}

/*
 * git's backtracking is exponential in chains of "**" links (this first
 * case takes git minutes); ours remembers what it tried and must give the
 * same answers fast. t5000 checks smaller chains against git itself.
 */
static void test_starstar_chains(void)
{
	static const struct {
		int links, depth;
		const char *tail, *last;
		int want;
	} rows[] = {
		{ 16, 24, "b", "x", 0 },
		{ 16, 24, "b", "b", 1 },
		{ 16, 12, "b", "b", 1 },	/* a link may match no level */
		{ 20, 40, "a/**/c", "x", 0 },
		{ 20, 40, "a/**/c", "c", 1 },
		{ 12, 30, "*/b*/c", "c", 0 },
	};
	struct strbuf pat = STRBUF_INIT, path = STRBUF_INIT;
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		double t0 = now_sec(), dt;

		strbuf_reset(&pat);
		strbuf_reset(&path);
		for (j = 0; j < rows[i].links; j++)
			strbuf_addstr(&pat, "**/");
		strbuf_addstr(&pat, rows[i].tail);
		for (j = 0; j < rows[i].depth; j++)
			strbuf_addstr(&path, "a/");
		strbuf_addstr(&path, rows[i].last);
		is_int(ignore_wildmatch(pat.buf, path.buf, true), rows[i].want,
		       "%d links, %d levels, '%s' vs '%s'", rows[i].links,
		       rows[i].depth, rows[i].tail, rows[i].last);
		dt = now_sec() - t0;
		ok(dt < 1.0, "... in %.3f s", dt);
	}
	strbuf_release(&pat);
	strbuf_release(&path);
}

/* '*' only, within one component: the obvious recursion. */
static int ref_comp(const char *p, const char *t)
{
	if (!*p)
		return !*t;
	if (*p == '*')
		return ref_comp(p + 1, t) || (*t && ref_comp(p, t + 1));
	return *t == *p && ref_comp(p + 1, t + 1);
}

/*
 * The meaning of a '/'-separated pattern of components with "**" links,
 * by dynamic programming over components: "**" matches any number of
 * components (at least one when it ends a longer pattern, as "x/" + "**"
 * does not match "x"), other components match one each.
 */
static int ref_match(const struct strvec *p, const struct strvec *t)
{
	size_t np = p->nr, nt = t->nr, i, j;
	char *dp = xcalloc((np + 1) * (nt + 1), 1);
	int ret;

#define DP(i, j) dp[(i) * (nt + 1) + (j)]
	DP(np, nt) = 1;
	for (i = np; i--;) {
		for (j = nt + 1; j--;) {
			if (!strcmp(p->v[i], "**") && i == np - 1 && np > 1)
				DP(i, j) = j < nt;
			else if (!strcmp(p->v[i], "**"))
				DP(i, j) = DP(i + 1, j) ||
					   (j < nt && DP(i, j + 1));
			else
				DP(i, j) = j < nt &&
					   ref_comp(p->v[i], t->v[j]) &&
					   DP(i + 1, j + 1);
		}
	}
	ret = DP(0, 0);
#undef DP
	free(dp);
	return ret;
}

/*
 * Random patterns heavy in "**" links (long enough for the matcher to
 * start remembering) against random paths: the same answers as the
 * reference above.
 */
static void test_starstar_random(void)
{
	static const char *const pcomp[] = {
		"**", "**", "**", "a", "b", "*", "a*", "*b",
	};
	static const char *const tcomp[] = { "a", "b", "ab", "ba" };
	unsigned long seed = 12345;
	struct strvec p = STRVEC_INIT, t = STRVEC_INIT;
	struct strbuf ps = STRBUF_INIT, ts = STRBUF_INIT;
	int n, k, bad = 0, matches = 0;
	size_t i;

	for (n = 0; n < 3000; n++) {
		strvec_clear(&p);
		strvec_clear(&t);
		strbuf_reset(&ps);
		strbuf_reset(&ts);
		seed = seed * 16807 % 2147483647;
		for (k = 0; k < 6 + (int)(seed % 9); k++) {
			seed = seed * 16807 % 2147483647;
			strvec_push(&p, pcomp[seed % ARRAY_SIZE(pcomp)]);
		}
		if (n % 2) {
			for (k = 0; k < 8 + (int)(seed % 17); k++) {
				seed = seed * 16807 % 2147483647;
				strvec_push(&t, tcomp[seed % 4]);
			}
		} else {
			/*
			 * A path made from the pattern, so that it (mostly)
			 * matches, but only after a long search.
			 */
			for (i = 0; i < p.nr; i++) {
				seed = seed * 16807 % 2147483647;
				if (!strcmp(p.v[i], "**"))
					for (k = 0; k < (int)(seed % 4); k++)
						strvec_push(&t, tcomp[(seed >> 3
							       ) % 4]);
				else if (strchr(p.v[i], '*'))
					strvec_push(&t, "ab");
				else
					strvec_push(&t, p.v[i]);
			}
			if (!t.nr)
				strvec_push(&t, "a");
		}
		for (i = 0; i < p.nr; i++)
			strbuf_addf(&ps, "%s%s", i ? "/" : "", p.v[i]);
		for (i = 0; i < t.nr; i++)
			strbuf_addf(&ts, "%s%s", i ? "/" : "", t.v[i]);
		k = ref_match(&p, &t);
		matches += k;
		if (ignore_wildmatch(ps.buf, ts.buf, true) != k) {
			if (bad++ < 5)
				printf("# '%s' vs '%s': want %d\n", ps.buf,
				       ts.buf, k);
		}
	}
	is_int(bad, 0, "3000 random ** patterns agree with the reference");
	ok(matches > 600 && matches < 2400,
	   "... with both answers common (%d matches)", matches);
	strvec_clear(&p);
	strvec_clear(&t);
	strbuf_release(&ps);
	strbuf_release(&ts);
}

int main(void)
{
	test_wildmatch();
	test_gitignore_rows();
	test_nul_in_text();
	test_nested();
	test_add_pattern();
	test_many_sources();
	test_deep_sources();
	test_add_file();
	test_speed();
	test_starstar_chains();
	test_starstar_random();
	return done_testing();
}
