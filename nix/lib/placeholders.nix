# How the path placeholders of [workspace.metadata.repro.reproducible] are
# bound inside a Nix build: each names the shell variable holding that path
# while the build runs. None of them may reach cargo's fingerprints (the
# rustflags, or the variables build scripts watch such as CFLAGS): outside
# NixOS $NIX_BUILD_TOP contains the derivation's name, so the dependencies'
# derivation and the binary's would disagree and cargo would rebuild every
# dependency. They are read when rustc and cc run instead (rustc-remap-script,
# reproducible-env).
{
  # the source, its target dir and CARGO_HOME all live under the build dir
  workspace = "NIX_BUILD_TOP";
  # crane's vendored dependency sources (the same store path in every derivation)
  cargo_home = "cargoVendorDir";
  # set by reproducible-env to $PWD/target; mapped last, so the source folder's name never shows
  target_dir = "CAMHUB_TARGET_DIR";
}
