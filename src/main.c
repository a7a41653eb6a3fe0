/*
 * The corral command: parse the command line, run the job, exit with its
 * status.  Everything else lives in cli.c, frontend.c and the library.
 */
#include <signal.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "cli.h"
#include "frontend.h"

int main(int argc, char **argv)
{
  struct cli cli;
  int rc = cli_parse(&cli, argc, argv);

  if (rc == 0) {
    /* A peer closing a socket must not kill us; libcurl sees EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
      cli_release(&cli);
      return 2;
    }
    rc = frontend_run(&cli);
    curl_global_cleanup();
  }
  else if (rc == 1)
    rc = 0;
  else
    rc = 2;
  cli_release(&cli);
  return rc;
}
