#include "runner.h"
#include "cmd.h"

int cmd_runs(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'runs' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
