#include "runner.h"
#include "cmd.h"

int cmd_archive(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'archive' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
