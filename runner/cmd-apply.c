#include "runner.h"
#include "cmd.h"

int cmd_apply(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'apply' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
