#include "runner.h"
#include "cmd.h"

int cmd_exec(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'exec' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
