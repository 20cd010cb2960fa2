# The reproducibility check: one binary built in two derivations that differ
# only in environment noise (time zone, locale, umask, job count and the
# build folder's name), compared by `repro compare`, which must say PASSED.
{ runCommand }:
{
  binary,
  artifact,
  repro,
}:
let
  noisy = binary.overrideAttrs (old: {
    TZ = "Pacific/Chatham";
    LC_ALL = "C.UTF-8";
    CARGO_BUILD_JOBS = "1";
    postUnpack = ''
      mv "$NIX_BUILD_TOP/$sourceRoot" "$NIX_BUILD_TOP/another-build-folder-name"
      sourceRoot=another-build-folder-name
    '';
    preBuild = "umask 077\n" + (old.preBuild or "");
  });
  manifest = builtins.toFile "manifest.json" (
    builtins.toJSON {
      build = {
        target = "check";
        profile = "noise";
        run_id = "nix";
        timestamp = "1970-01-01T00:00:00Z";
      };
      artifacts = [
        {
          inherit (artifact) package bin;
          target = artifact.triple;
          bin_path = artifact.binPath;
          crate = artifact.crate;
          version = "check";
          crate_lock_sha256 = "same-lock";
          rust_digest = "same-toolchain";
        }
      ];
    }
  );
  folder =
    name: drv:
    runCommand name { } ''
      install -D -m 0755 ${drv}/bin/${artifact.cargoBin} "$out/${artifact.binPath}"
      cp ${manifest} "$out/manifest.json"
    '';
in
runCommand "reproducible-under-noise"
  {
    nativeBuildInputs = [ repro ];
    # Both builds, to inspect or rebuild one: .#checks.<system>.reproducible-under-noise.noisy
    passthru = { inherit binary noisy; };
  }
  ''
    # The verdict is the build's result: no pipe, so no pipefail to rely on.
    repro compare ${folder "plain" binary} ${folder "noisy" noisy} > "$out"
    cat "$out"
  ''
