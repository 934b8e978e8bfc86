#include "runner.h"
#include "cmd.h"

int cmd_gc(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'gc' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
