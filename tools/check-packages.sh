#!/usr/bin/env bash
# Packs every package into a local folder feed and uses them as a .NET developer would, outside
# this repository: a fresh console project adds `Nabla` from the feed, compiles and runs the
# package README's example on the shipped digits; the tool `Nabla.Tool` is installed with
# `dotnet tool install --tool-path` and `nabla train --epochs 1` runs from a folder that is not the
# repository. Also checks each package's metadata (licence, readme, repository, XML docs, symbols).
# Run by .ci/run; takes a minute or two.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/nabla-packages.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
feed="$work/feed"
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' "$root/Directory.Build.props")"
fail() { echo "check-packages: $*" >&2; exit 1; }

echo "== packing $version into $feed"
packages=(src/Nabla src/Nabla.Cli)
[ -d "$root/src/Nabla.Onnx" ] && packages+=(src/Nabla.Onnx)
for p in "${packages[@]}"; do
  dotnet pack "$root/$p" -c Release -o "$feed" --nologo -v quiet >/dev/null || fail "dotnet pack $p failed"
done

echo "== package contents"
for id in Nabla Nabla.Tool $( [ -d "$root/src/Nabla.Onnx" ] && echo Nabla.Onnx ); do
  nupkg="$feed/$id.$version.nupkg"
  [ -f "$nupkg" ] || fail "$nupkg was not made"
  [ -f "$feed/$id.$version.snupkg" ] || fail "no symbol package for $id"
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")"
  for field in '<license type="expression">MIT</license>' '<readme>' '<repository type="git"' '<description>' '<authors>' '<tags>'; do
    grep -qF "$field" <<<"$nuspec" || fail "$id.nuspec lacks $field"
  done
  listing="$(unzip -l "$nupkg")"
  grep -q "LICENSE" <<<"$listing" || fail "$id has no LICENSE file"
  if [ "$id" != Nabla.Tool ]; then grep -q "lib/net10.0/$id.xml" <<<"$listing" || fail "$id has no XML documentation"; fi
  echo "   $id $version: metadata, licence, readme, symbols ok"
done
# The listing goes into a variable first: under pipefail, `unzip -l | grep -q` fails at random when grep
# exits at its match and unzip dies writing the rest into the closed pipe (CI failed that way once).
tool_listing="$(unzip -l "$feed/Nabla.Tool.$version.nupkg")"
grep -qF "data/mnist10k/images.idx3-ubyte.gz" <<<"$tool_listing" || fail "the tool package lacks the shipped digits"

# NuGet sources for the new projects: the local feed first, then the machine's usual sources.
cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$feed" />
  </packageSources>
</configuration>
XML

echo "== a fresh console project adds Nabla and runs the package README's example"
app="$work/app"
dotnet new console -o "$app" --framework net10.0 >/dev/null
cp "$work/nuget.config" "$app/"
( cd "$app" && dotnet add package Nabla --version "$version" >/dev/null ) || fail "dotnet add package Nabla failed"
# The first C# block of the package README is the whole program.
awk '/^```csharp/{f=1; next} /^```/{if(f){exit}} f' "$root/src/Nabla/PACKAGE.md" \
  | sed "s#\"data/mnist10k\"#\"$root/data/mnist10k\"#" >"$app/Program.cs"
grep -q "MnistFolder.Load" "$app/Program.cs" || fail "could not extract the example from src/Nabla/PACKAGE.md"
out="$(cd "$app" && dotnet run -c Release 2>&1)" || { echo "$out"; fail "the README example did not build or run"; }
echo "   $out"
acc="$(sed -n 's/.*test accuracy: \([0-9.]*\).*/\1/p' <<<"$out")"
[ -n "$acc" ] || fail "the example printed no accuracy"
awk -v a="$acc" 'BEGIN { exit !(a >= 85) }' || fail "the example reached only $acc %"

echo "== dotnet tool install Nabla.Tool, then nabla train --epochs 1 outside the repository"
dotnet tool install Nabla.Tool --version "$version" --tool-path "$work/tools" --configfile "$work/nuget.config" >/dev/null \
  || fail "dotnet tool install failed"
run="$work/run"; mkdir -p "$run"
( cd "$run" && "$work/tools/nabla" train --epochs 1 --out "$run/model.safetensors" ) >"$work/train.log" 2>&1 \
  || { cat "$work/train.log"; fail "nabla train --epochs 1 failed"; }
tail -n 3 "$work/train.log" | sed 's/^/   /'
[ -s "$run/model.safetensors" ] || fail "nabla train wrote no model"
( cd "$run" && "$work/tools/nabla" evaluate --model model.safetensors ) >/dev/null || fail "nabla evaluate of the trained model failed"
echo "check-packages: all packages install and work"
