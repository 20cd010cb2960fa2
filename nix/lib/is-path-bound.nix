# Whether a reproducible flag names a build path ({workspace}, {cargo_home},
# {target_dir}), and so must be applied where cargo does not fingerprint it.
flag:
builtins.any (n: builtins.match ".*\\{${n}}.*" flag != null) (builtins.attrNames (import ./placeholders.nix))
