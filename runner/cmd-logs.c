#include "runner.h"
#include "cmd.h"

int cmd_logs(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'logs' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
