#include "runner.h"
#include "ws.h"
#include "tap.h"

static const struct {
	const char *path;
	bool valid;
} rows[] = {
	{ "a", true },
	{ "a/b/c.txt", true },
	{ ".gitignore", true },
	{ "..a/b..", true },
	{ "a/.../b", true },
	{ "dir with space/x", true },
	{ "", false },
	{ "/", false },
	{ "/etc/passwd", false },
	{ "a/", false },
	{ "a//b", false },
	{ ".", false },
	{ "..", false },
	{ "./a", false },
	{ "a/./b", false },
	{ "a/..", false },
	{ "../x", false },
	{ "a/../../x", false },
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(ws_path_valid(rows[i].path), rows[i].valid, "'%s' %s",
		       rows[i].path, rows[i].valid ? "valid" : "refused");
	return done_testing();
}
