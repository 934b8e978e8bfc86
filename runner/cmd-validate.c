#include "runner.h"
#include "cmd.h"

int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'validate' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
