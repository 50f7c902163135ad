#!/bin/sh
# The deploywatch image's entrypoint: bring the repository deploywatch watches into $DEPLOYWATCH_REPO_DIR
# (clone it, or fetch when a volume kept an earlier clone), then run `deploywatch ARGS`.
#
#   DEPLOYWATCH_REPO_URL     the repository to clone; unset: use $DEPLOYWATCH_REPO_DIR as it is (a mounted
#                            checkout). For a private repository take it from a Secret (a URL with a token).
#   DEPLOYWATCH_REPO_BRANCH  the branch to check out (default: the remote's default branch)
#   DEPLOYWATCH_REPO_DIR     where the clone lives (default /workspace/repo)
#   DEPLOYWATCH_GIT_TIMEOUT  seconds a clone or fetch may take (default 300)
#
# The clone is complete (not shallow): drift counts commits and walks history. The URL is never printed: it
# may carry a token.
set -eu

dir="${DEPLOYWATCH_REPO_DIR:-/workspace/repo}"
limit="${DEPLOYWATCH_GIT_TIMEOUT:-300}"
branch="${DEPLOYWATCH_REPO_BRANCH:-}"
export GIT_TERMINAL_PROMPT=0  # fail instead of waiting for a password nobody will type

say() { echo "deploywatch-entrypoint: $*" >&2; }
fail() { say "$*"; exit 3; }  # 3: could not run, as deploywatch's own exit codes say

if [ -n "${DEPLOYWATCH_REPO_URL:-}" ]; then
    if [ -d "$dir/.git" ]; then
        say "fetching into $dir"
        git -C "$dir" remote set-url origin "$DEPLOYWATCH_REPO_URL" || fail "$dir is not a usable clone"
        timeout "$limit" git -C "$dir" fetch --quiet --prune origin || fail "git fetch into $dir failed"
        if [ -z "$branch" ]; then
            branch="$(git -C "$dir" rev-parse --abbrev-ref HEAD)" || fail "no branch checked out in $dir"
        fi
        # The clone is the entrypoint's own: reset the branch to the remote's, whatever happened to it.
        git -C "$dir" checkout --quiet --force -B "$branch" "origin/$branch" \
            || fail "the remote has no branch '$branch' (DEPLOYWATCH_REPO_BRANCH)"
    elif [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        fail "$dir exists and is not a git clone: empty it, or point DEPLOYWATCH_REPO_DIR elsewhere"
    else
        say "cloning into $dir"
        timeout "$limit" git clone --quiet ${branch:+--branch "$branch"} -- "$DEPLOYWATCH_REPO_URL" "$dir" \
            || fail "git clone into $dir failed (check DEPLOYWATCH_REPO_URL and DEPLOYWATCH_REPO_BRANCH)"
    fi
fi

exec deploywatch "$@"
