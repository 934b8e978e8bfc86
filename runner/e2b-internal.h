#ifndef E2B_INTERNAL_H
#define E2B_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "e2b-config.h"
#include "strvec.h"

struct e2b_api;

/*
 * The state of one e2b sandbox, shared by the backend's modules (the
 * model is git's refs/refs-internal.h): sandbox-e2b.c creates and frees
 * it and implements struct sandbox_backend over it; e2b-api.c keeps its
 * lifetime, e2b-envd.c reaches envd inside it, e2b-proc.c runs processes
 * there, e2b-tree.c and e2b-pull.c move the workspace in and out.
 *
 * Everything here is owned by the struct and freed by sandbox-e2b.c.
 * Like every sandbox (sandbox.h), one is used by one thread at a time,
 * so nothing here is locked.
 */

/* Where the task's tree lives in the sandbox. */
#define E2B_WORKSPACE "/workspace"

struct sandbox {
	struct e2b_conf conf;
	struct e2b_api *api; /* the control plane's connection */
	char *id;	     /* E2B's sandboxID; NULL until create answers */
	char *token;	     /* envd access token, or NULL */
	char *envd_version;  /* "0.0.0" when E2B did not say */
	char *envd_url;	     /* no trailing '/' */
	char *home;	     /* the task user's home, outside E2B_WORKSPACE */
	struct http_client *envd;   /* unary calls, uploads, downloads */
	struct http_client *stream; /* the process stream */
	int64_t created;	    /* mono ms of the create call */
	int64_t ttl_end;	    /* mono ms when E2B would end it */
	int64_t lifetime_ms;	    /* E2B's cap on its whole life */
	int64_t last_extend_try;    /* mono ms */
	bool dead;		    /* known to be gone */
	bool octet_upload;	    /* envd >= 0.5.7 takes a raw body */
};

#endif
