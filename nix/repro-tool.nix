# The `repro` tool itself, for the machine that runs it.
{ craneLib }:
{ src, version }:
craneLib.buildPackage {
  inherit src version;
  pname = "repro";
  strictDeps = true;
  cargoExtraArgs = "--locked -p repro";
  # Its tests run in the checks.
  doCheck = false;
  meta.mainProgram = "repro";
}
