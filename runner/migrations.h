#ifndef MIGRATIONS_H
#define MIGRATIONS_H

/*
 * The migrations embedded at build time from migrations/ by
 * tools/embed-migrations.sh: runner_migrations[i].version == i + 1.
 */
struct migration {
	int version;
	const char *name;
	const char *up;	  /* SQL, run in one transaction */
	const char *down; /* SQL that undoes up */
};

extern const struct migration runner_migrations[];
extern const int runner_nr_migrations;

#endif
