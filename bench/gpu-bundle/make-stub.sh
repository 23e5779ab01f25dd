#!/usr/bin/env bash
# make-stub.sh <real.so> <out-dir>: a stand-in library with the same SONAME, symbols and symbol
# versions whose functions do nothing. For libraries FFmpeg links but TVL never calls (encoders,
# SVG, JPEG XL, VA-API...), so the bundle carried to a GPU machine stays under its size limit.
set -euo pipefail
real=$1 out=$2
soname=$(objdump -p "$real" | awk '/SONAME/ {print $2}')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nm -D --defined-only --with-symbol-versions "$real" | awk '$2 ~ /^[TtWiDdBbRrVu]$/ {print $2, $3}' | sort -u > "$work/syms"
n=0
{
  echo "/* generated stub for $soname */"
  while read -r kind name; do
    sym=${name%%@*}
    [[ $sym =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    case $kind in T|t|W|i) def='void %s(void) {}' ;; *) def='char %s[64];' ;; esac
    if [[ $name == *@* ]]; then
      # One definition per (symbol, version), bound to its version with .symver; @@ is the default.
      n=$((n + 1))
      printf "$def\n" "tvl_stub_$n"
      echo "__asm__(\".symver tvl_stub_$n, ${name}\");"
    else
      printf "$def\n" "$sym"
    fi
  done < "$work/syms"
} > "$work/stub.c"
versions=$(grep -o '@@\?[A-Za-z0-9_.]*$' "$work/syms" | tr -d @ | sort -u || true)
args=()
if [ -n "$versions" ]; then
  first=1
  for v in $versions; do
    if [ $first = 1 ]; then echo "$v { local: tvl_stub_*; };"; first=0; else echo "$v { };"; fi
  done > "$work/map"
  args=(-Wl,--version-script="$work/map")
fi
cc -shared -fPIC -w -o "$out/$soname" -Wl,-soname,"$soname" "${args[@]}" "$work/stub.c"
