# Sourced by scripts/demo and scripts/test: make .venv when it is missing and
# install the project into it with the extras named in $JITPERF_EXTRAS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
stamp=".venv/.jitperf-installed-${JITPERF_EXTRAS:-core}"
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv with $($py --version)" >&2
    "$py" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    spec="."
    [ -n "${JITPERF_EXTRAS:-}" ] && spec=".[${JITPERF_EXTRAS}]"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
    touch "$stamp"
fi
