#!/usr/bin/env bash
# Publishes the `nabla` tool with native AOT (the trimmed, reflection-free build README documents)
# and checks that it computes exactly what the JIT build computes: the same seeded training run
# (MLP and LeNet-5) must print the same losses and test accuracy, and the AOT binary must evaluate,
# predict and export what it trained. Catches code that builds without trim/AOT warnings but fails
# at run time in a native binary (reflection over metadata the binary does not keep).
# Run by .ci/run; needs clang (Debian: clang) for the native link.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/nabla-aot.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
fail() { echo "check-aot: $*" >&2; exit 1; }

echo "== publishing with native AOT"
dotnet publish "$root/src/Nabla.Cli" -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=native \
  -o "$work/aot" --nologo > "$work/publish.log" 2>&1 || { tail -40 "$work/publish.log"; fail "native AOT publish failed (log above)"; }
aot="$work/aot/Nabla.Cli"
[ -x "$aot" ] || fail "no native binary at $aot"
jit=(dotnet run -c Release --no-build --project "$root/src/Nabla.Cli" --)
dotnet build "$root/src/Nabla.Cli" -c Release --nologo > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "JIT build failed (log above)"; }

# The lines that must agree: per-epoch losses/accuracies without the wall time, and the test line.
numbers() { grep -E '^(epoch|test)' | sed -E 's/ +[0-9.]+ s$//'; }
same_run() {
  local name="$1"; shift
  (cd "$work" && "${jit[@]}" "$@" --out "$work/$name-jit.safetensors") > "$work/$name-jit.txt" 2>&1 || { cat "$work/$name-jit.txt"; fail "JIT $name run failed"; }
  (cd "$work" && "$aot" "$@" --out "$work/$name-aot.safetensors") > "$work/$name-aot.txt" 2>&1 || { cat "$work/$name-aot.txt"; fail "AOT $name run failed"; }
  diff <(numbers < "$work/$name-jit.txt") <(numbers < "$work/$name-aot.txt") || fail "$name: the AOT binary printed other numbers than the JIT build"
  [ -n "$(numbers < "$work/$name-aot.txt")" ] || fail "$name: no epoch/test lines to compare"
  echo "$name: JIT and AOT agree: $(grep -E '^test' "$work/$name-aot.txt")"
}
same_run mlp train --epochs 2 --limit 2000 --threads 1
same_run lenet5 train --model lenet5 --epochs 2 --limit 1000 --batch 32 --threads 1

echo "== the AOT binary uses what it trained"
"$aot" evaluate --model "$work/mlp-aot.safetensors" > "$work/eval.txt" 2>&1 || { cat "$work/eval.txt"; fail "evaluate failed"; }
grep -q '^test' "$work/eval.txt" || fail "evaluate printed no test line"
"$aot" export --model "$work/lenet5-aot.safetensors" --onnx "$work/lenet5.onnx" > "$work/export.txt" 2>&1 || { cat "$work/export.txt"; fail "export --onnx failed"; }
[ -s "$work/lenet5.onnx" ] || fail "export wrote no ONNX file"
"$aot" --help > /dev/null || fail "--help failed"
echo "check-aot: ok ($(du -h "$aot" | cut -f1) binary)"
