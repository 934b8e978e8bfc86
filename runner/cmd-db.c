#include "runner.h"
#include "cmd.h"

int cmd_db(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'db' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
