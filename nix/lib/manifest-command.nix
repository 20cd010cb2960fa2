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
  # The release version (Cargo.toml's [workspace.package] version) and the
  # git commit the source is (the flake's self.rev); null leaves it out: a
  # dirty tree has no rev, and its release cannot be rebuilt by anyone.
  version ? null,
  sourceRev ? null,
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
++ (if version == null then [ ] else [ "--release-version" version ])
++ (if sourceRev == null then [ ] else [ "--source-rev" sourceRev ])
