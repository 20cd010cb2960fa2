# The `repro manifest` invocation that describes a release folder built by
# Nix: which target and profile, the toolchain's identity, how each triple
# was built. Returns the argument list (shell-quoted by the caller).
{
  out,
  workspace,
  plan,
  rustDigest,
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
  "--rust-digest"
  rustDigest
  "--run-id"
  "nix"
]
++ builtins.concatLists (
  map (triple: [
    "--build-mode"
    "${triple}=${modes.${triple}.mode}"
  ]) plan.triples
)
