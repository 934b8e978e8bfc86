#ifndef WS_IGNORE_H
#define WS_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

/*
 * gitignore semantics: which workspace paths a set of .gitignore-syntax
 * pattern sources excludes. The verdicts agree with `git check-ignore`
 * (tests/t/t5000-ignore.sh compares them on generated trees), including
 * git's quirks:
 *
 *  - one pattern a line; '#' at the start of a line is a comment; blank
 *    lines match nothing; a UTF-8 BOM and a '\r' before '\n' are dropped;
 *    trailing spaces are stripped unless escaped ("foo\ ");
 *  - '!' negates (re-includes); "\!" and "\#" match a literal '!' or '#';
 *  - a trailing '/' matches directories only;
 *  - a pattern without a '/' (other than a trailing one) matches the
 *    basename at any depth below its .gitignore; one with a '/' at the
 *    start or in the middle is anchored to the .gitignore's directory;
 *  - '*', '?', '[a-z]', '[!a]', '[^a]', '[[:alpha:]]' never match '/';
 *    "**" matches across directories when it is a whole path component
 *    ("**" + "/x", "x/" + "**", "x/" + "**" + "/y");
 *  - the last matching pattern decides; later sources beat earlier ones;
 *  - a path inside an excluded directory is excluded whatever later
 *    patterns say: a file cannot be re-included if a parent directory of
 *    it is excluded (ignore_path_excluded; the walker gets this for free
 *    by not descending into excluded directories).
 *
 * Matching is case-sensitive (git's default core.ignoreCase=false) and
 * byte-wise: character classes are ASCII only.
 *
 * Cost: patterns are compiled when added (a literal is a memcmp, "*.ext"
 * a suffix test, a pattern without '/' looks at the basename only), and a
 * lookup visits only the sources based at the path's parent directories.
 * Unlike git's matcher, which is exponential in chains of "**" links, the
 * time stays polynomial whatever a .gitignore in the workspace contains.
 *
 * Intended use in runner:
 *  - The snapshot walker keeps two matchers. One collects the .gitignore
 *    files: the root's first, then each directory's when the walker enters
 *    it (ignore_add_file with that directory as base). The other holds the
 *    plan's `exclude` entries (ignore_add_pattern). An entry is dropped
 *    when either matcher says ignore_match() == 1 for it; an excluded
 *    directory is not descended into. So `exclude` is applied on top of
 *    .gitignore: a '!' line in a .gitignore cannot bring back what
 *    `exclude` removes (while a '!' entry in `exclude` can still undo an
 *    earlier `exclude` entry).
 *  - `pull` uses one matcher per entry (without its '!'); the last entry
 *    whose ignore_path_excluded() == 1 for a changed file decides (ws.c),
 *    so "src/" pulls everything below src/, "**" pulls everything and a
 *    later "!.claude/" takes .claude/ back out.
 *
 * Thread safety: building a matcher (ignore_add_*) needs exclusive access;
 * ignore_match and ignore_path_excluded only read it, so any number of
 * threads may call them at once on a matcher nobody is adding to.
 */

/* An ordered list of pattern sources. */
struct ignore;

/* A new, empty matcher (matches nothing). Free it with ignore_free(). */
struct ignore *ignore_new(void);

/* Free ig and everything it holds. NULL is a no-op. */
void ignore_free(struct ignore *ig);

/*
 * Add the patterns of one .gitignore-syntax text, text[0..len), that
 * applies to the paths under base: "" for the root, else "dir/sub"
 * (no leading "./", no trailing slash; a trailing slash is tolerated).
 * Its patterns apply only to paths strictly below base, and anchored ones
 * ("/x", "a/b") are relative to base, as for a .gitignore in that
 * directory. Later additions take precedence over earlier ones, as deeper
 * .gitignore files do in git. text and base are borrowed (copied); text
 * need not be NUL-terminated, and parsing stops at a NUL byte in a line as
 * git's does. Never fails (a malformed bracket expression just never
 * matches, as in git).
 */
void ignore_add_text(struct ignore *ig, const char *base, const char *text,
		     size_t len);

/*
 * Read base's .gitignore at path (a file on disk) and add it as
 * ignore_add_text would. As git does for in-tree .gitignore files, a
 * missing file or a symbolic link is skipped (returns 0, adds nothing).
 * Returns 0, or -1 with a message in err when the file cannot be read or
 * is larger than 100 MiB (git also refuses those).
 */
int ignore_add_file(struct ignore *ig, const char *base, const char *path,
		    struct strbuf *err);

/*
 * Add one pattern relative to the root (plan `exclude` / `pull` entries).
 * It is read as one .gitignore line: "#x" is a comment (write "\#x"),
 * trailing unescaped spaces are stripped, and a '\n' in it is part of the
 * pattern. The pattern is borrowed (copied).
 */
void ignore_add_pattern(struct ignore *ig, const char *pattern);

/*
 * The verdict for this path alone, not looking at its parent directories:
 * 1 when the last matching pattern excludes it, 0 when no pattern matches
 * or the last match is a '!' pattern. path is relative and '/'-separated,
 * without a leading "./" or a trailing '/'; is_dir says whether it is a
 * directory (a symlink to a directory is not one). This is what a walker
 * that does not descend into excluded directories needs.
 */
int ignore_match(const struct ignore *ig, const char *path, bool is_dir);

/*
 * The verdict including parents: 1 if the path or any of its parent
 * directories matches (git's answer for a path inside an excluded
 * directory, whatever '!' patterns say about the path itself), else 0.
 */
int ignore_path_excluded(const struct ignore *ig, const char *path,
			 bool is_dir);

/*
 * The glob matcher underneath, exported for tests: 1 when pattern matches
 * all of text, else 0. With pathname, '*', '?' and brackets do not match
 * '/' and "**" as a path component matches any number of directories
 * (git's WM_PATHNAME); without it '/' is an ordinary character.
 */
int ignore_wildmatch(const char *pattern, const char *text, bool pathname);

#endif
