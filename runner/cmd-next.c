#include "runner.h"
#include "cmd.h"

int cmd_next(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'next' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
