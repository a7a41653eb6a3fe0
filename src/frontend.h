/*
 * frontend: the corral tool's runtime around the library.  Opens the
 * inputs, runs the job on a loop, shows a live status area on a terminal
 * (progress.c draws it) or prints one line per finished entry elsewhere
 * (only errors under -q), writes the --report file, prints the dry-run plan
 * on stdout, handles SIGINT/SIGTERM, and prints the summary line.
 *
 * frontend_run() returns the process exit status (SPEC "Output and exit"):
 * 0, 1 (an entry failed), 2 (usage: unreadable input, unusable output dir),
 * 130/143 after SIGINT/SIGTERM.
 */
#ifndef CORRAL_FRONTEND_H
#define CORRAL_FRONTEND_H

#include "cli.h"

int frontend_run(struct cli *cli);

#endif
