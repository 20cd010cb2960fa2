# The plan of a "<target>-<profile>" name: "ipcamera-camerahub" -> plan.nix's
# plan of target "ipcamera", profile "camerahub".
{ matrix }:
pair:
let
  m = builtins.match "([^-]+)-(.*)" pair;
in
import ./plan.nix { inherit matrix; } (builtins.elemAt m 0) (builtins.elemAt m 1)
