#include "runner.h"
#include "cmd.h"

int cmd_resume(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "runner: 'resume' is not implemented yet\n");
	return RUNNER_EXIT_USAGE;
}
