#include "runner.h"
#include "cmd.h"

int cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'verify' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
