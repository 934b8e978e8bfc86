#include "runner.h"
#include "cmd.h"

int cmd_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'show' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
