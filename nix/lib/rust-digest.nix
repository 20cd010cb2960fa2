# The manifest's rust_digest for the Nix toolchain that built a triple: its
# name and the SHA-256 of its store path. Never the store path itself: Nix
# scans outputs for the hashes of their inputs, so a store hash written into
# manifest.json would be a reference from the release to the toolchain.
toolchain:
"nix:${toolchain.name}@sha256:${builtins.hashString "sha256" (builtins.unsafeDiscardStringContext "${toolchain}")}"
