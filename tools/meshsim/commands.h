// meshsim subcommands. Each takes the arguments after its name and returns
// the process exit code: 0 success/PASS, 1 FAIL (an invariant or a
// determinism check failed), 2 usage or input error.
#pragma once

int cmd_run(int argc, char** argv);
int cmd_sweep(int argc, char** argv);
int cmd_noise_vectors(int argc, char** argv);
