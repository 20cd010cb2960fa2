# The `repro manifest` invocation that describes a release folder built by
# Nix: which target and profile, the identity of the toolchain that built each
# triple, how each triple was built. Returns the argument list (shell-quoted by
# the caller).
{
  out,
  workspace,
  plan,
  # triple -> rust_digest (rust-digest.nix) of the toolchain that built it
  rustDigests,
  modes,
}:
[
  "manifest"
  out
  "--workspace"
  workspace
  "--target"
  plan.target
  "--profile"
  plan.profile
  "--run-id"
  "nix"
]
++ builtins.concatLists (
  map (triple: [
    "--rust-digest"
    "${triple}=${rustDigests.${triple}}"
    "--build-mode"
    "${triple}=${modes.${triple}.mode}"
  ]) plan.triples
)
