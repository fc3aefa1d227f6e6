/*
 * dynctl test: build the test environment and run the project's tests (`mix test`).
 */
#include <stdio.h>
#include <string.h>

#include "dynctl.h"

static int test(int argc, char **argv);

const dynctl_cmd_t dynctl_test = {
    .name = "test",
    .fn = test,
    .summary = "build the test environment and run the project's tests",
    .help = "usage: dynctl test [PATH]\n"
            "\n"
            "Builds the project in PATH (default .) for the test environment in\n"
            "_build/test, with its tests (test/**/*_test.c), and runs them with ctest.\n"
            "\n"
            "Exit status: 0 all passed, 1 a test failed, 5 the build failed.\n",
};

static int test(int argc, char **argv)
{
    dynctl_opts_t o;
    int rc = dynctl_parse(&dynctl_test, argc, argv, "", &o);
    if (rc)
        return rc == 1 ? DYNCTL_EXIT_OK : rc;
    dynctl_project_t p;
    if ((rc = dynctl_project_open(o.path, "test", NULL, &p)))
        return rc;
    if ((rc = dynctl_build(&p, true, NULL, 0)))
        return rc;
    fflush(NULL);
    char *ctest[] = {"ctest", "--test-dir", p.build, "--output-on-failure", NULL};
    rc = dynctl_run(ctest, -1);
    if (rc < 0)
        return dynctl_fail(DYNCTL_EXIT_FAILED, "cannot run ctest: is cmake installed?");
    return rc == 0 ? DYNCTL_EXIT_OK : dynctl_fail(DYNCTL_EXIT_FAILED, "tests failed");
}
