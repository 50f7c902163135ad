#!/bin/sh
# Run the test suite with the clock shifted and in far-apart time zones, to show it does not depend on the day,
# the zone or the locale it runs in (issue: "green on any day"). Needs Debian's faketime package and a C compiler.
#
#   tests/tools/any-date.sh [PYTHON]        # default: .venv/bin/python
#
# libfaketime shifts absolute monotonic sleeps too, even with FAKETIME_DONT_FAKE_MONOTONIC=1, which makes Python's
# time.sleep fail with EINVAL; monosleep.c, preloaded first, sends monotonic sleeps straight to the kernel.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${1:-.venv/bin/python}
libfaketime=$(find /usr/lib -name libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$libfaketime" ] || { echo "any-date: libfaketime not found (apt-get install faketime)" >&2; exit 3; }
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cc -shared -fPIC -O2 -o "$build/monosleep.so" "$here/monosleep.c" -ldl
# 1: the clock 200 days ahead, UTC+14, a narrow terminal width and NO_COLOR in the environment
echo "any-date: clock +200 days, TZ=Pacific/Kiritimati"
env TZ=Pacific/Kiritimati COLUMNS=60 NO_COLOR=1 FAKETIME=+200d FAKETIME_DONT_FAKE_MONOTONIC=1 \
    LD_PRELOAD="$build/monosleep.so:$libfaketime" "$python" -m pytest -q -p no:cacheprovider
# 2: the real clock, UTC-8/-7, the C locale
echo "any-date: TZ=America/Los_Angeles, LC_ALL=C"
env TZ=America/Los_Angeles LC_ALL=C LANG=C "$python" -m pytest -q -p no:cacheprovider
