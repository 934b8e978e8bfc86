#ifndef RUNNER_H
#define RUNNER_H

/*
 * First include of every .c file in runner/ and tests/: the system headers
 * everything uses, the allocation, string and error helpers, and banned.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "xalloc.h"
#include "strbuf.h"
#include "strvec.h"
#include "error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "banned.h"

#endif
