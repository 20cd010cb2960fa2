# One flag of [workspace.metadata.repro.reproducible] as shell text for inside
# double quotes: the flag's own characters escaped, each placeholder replaced
# by the variable that holds its path (placeholders.nix), which fails loudly
# when unset.
flag:
let
  placeholders = import ./placeholders.nix;
  names = builtins.attrNames placeholders;
  escaped = builtins.replaceStrings [ "\\" "\"" "$" "`" ] [ "\\\\" "\\\"" "\\$" "\\`" ] flag;
in
builtins.replaceStrings (map (n: "{${n}}") names) (map (n: "\${${placeholders.${n}}:?}") names) escaped
