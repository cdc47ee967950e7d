// meshsim subcommands. Each takes the arguments after its name and returns
// the process exit code: 0 success/PASS, 1 FAIL (an invariant or a
// determinism check failed, or traces diverged), 2 usage or input error.
#pragma once

int cmd_run(int argc, char** argv);
int cmd_replay(int argc, char** argv);
int cmd_sweep(int argc, char** argv);
int cmd_shrink(int argc, char** argv);
int cmd_diverge(int argc, char** argv);
int cmd_timeline(int argc, char** argv);
int cmd_emit_trace(int argc, char** argv);  // hidden: used by diverge --against
int cmd_noise_vectors(int argc, char** argv);
