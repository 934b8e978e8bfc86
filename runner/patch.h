#ifndef PATCH_H
#define PATCH_H

#include <stdbool.h>

struct strbuf;
struct ws_change;
struct ws_changes;

/*
 * changes.patch: a unified diff of every text file a task added,
 * modified (diff -u, run without a shell) or deleted, against the workspace
 * file it started from. A workspace file that has changed since the
 * snapshot is not diffed (a comment line says so); binary files get
 * diff's one-line notice. The patch is capped at PATCH_MAX bytes.
 *
 * A task chooses its file names: one with a newline could carry a forged
 * "--- a/Makefile" header, and patch(1) would edit a file the task never
 * touched. A name that cannot be written safely into a unified diff
 * (patch_name_ok() false) is left out of the patch entirely; a comment
 * line at the top of the patch names it (quoted), and changes.json marks
 * its entry "patch_unsafe_name": true (results.c, which also adds a
 * warning naming it; `runner show` marks it), because patch(1) ignores
 * comments.
 */
#define PATCH_MAX (64u << 20)
/* Modified files diffed with diff(1) at most (one process each). */
#define PATCH_MAX_DIFFS 1000

/*
 * Whether a change would go into the patch at all: a regular file that
 * was pulled back, or deleted.
 */
bool patch_wanted(const struct ws_change *x);
/*
 * Whether GNU patch reads the name back exactly from "+++ b/NAME": no
 * control character (newline, CR, tab, ESC, ...) and no trailing space
 * (patch strips it). Spaces inside are fine: such a label ends in a tab.
 */
bool patch_name_ok(const char *path);
/* What the comment and the warning say about a name left out. */
#define PATCH_LEFT_OUT \
	"name cannot be written into a diff; not in changes.patch"

int patch_write(const struct ws_changes *c, const char *workspace,
		const char *changes_dir, const char *patch_path,
		struct strbuf *err);

#endif
