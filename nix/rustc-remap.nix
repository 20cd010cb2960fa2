# The RUSTC_WRAPPER that gives rustc the path-bound reproducible flags
# (nix/lib/rustc-remap-script.nix). It runs on the build machine, and is one
# store path for every derivation of a build machine, so cargo sees the same
# wrapper in buildDepsOnly and in the binary's build.
{ writeShellScript }:
{ script }:
writeShellScript "camhub-rustc-remap" script
