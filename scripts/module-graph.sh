#!/usr/bin/env bash
# The library's module graph from its `crate::` paths: one line per top-level
# module and the modules it names (test modules left out), then `tsort`'s
# verdict. Exits non-zero on an import circle, so `make lint` keeps the
# layers honest (DESIGN.md: a lower layer never names a higher one).
#
#   scripts/module-graph.sh            # the graph and the verdict
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

edges="$(
  for f in $(git ls-files 'src/*.rs' 'src/**/*.rs' | grep -vE '(_tests|/tests)\.rs$'); do
    m="$(sed -E 's#^src/##; s#/.*##; s#\.rs$##' <<<"$f")"
    # Stop at the file's test module: what tests name is not a layer's import.
    sed '/^#\[cfg(test)\]/,$d' "$f" | grep -v '^\s*//' | grep -oE 'crate::[a-z_0-9]+' \
      | sed 's/crate:://' | sort -u | while read -r t; do
        [[ "$t" != "$m" ]] && echo "$m $t"
      done
  done | sort -u
)"
awk '{to[$1] = to[$1] " " $2} END {for (m in to) print m " ->" to[m]}' <<<"$edges" | sort
if ! verdict="$(tsort <<<"$edges" 2>&1 >/dev/null)" || [[ -n "$verdict" ]]; then
  echo "$verdict" >&2
  echo "module-graph.sh: import circle (tsort names the modules above)" >&2
  exit 1
fi
echo "no circle: $(wc -l <<<"$edges") edges between $(tr ' ' '\n' <<<"$edges" | sort -u | wc -l) modules"
