#!/usr/bin/env bash
# The action's run step (action.yml): run one deploywatch command the way CI reads it, record its exit code.
# Inputs arrive as DEPLOYWATCH_* environment variables; nothing here is expanded from ${{ }} text.
set -uo pipefail

deploywatch="${DEPLOYWATCH_BIN:?the install step sets DEPLOYWATCH_BIN}/deploywatch"
command="${DEPLOYWATCH_COMMAND:-}"
case "$command" in
  drift | affected | check | canary | gate | deploy | report) ;;
  *)
    echo "::error title=deploywatch action::input 'command' is '${command}'; expected drift, affected, check, canary, gate, deploy or report"
    exit 3
    ;;
esac
case "${DEPLOYWATCH_FAIL_ON:-any}" in
  any | critical | never) ;;
  *)
    echo "::error title=deploywatch action::input 'fail-on' is '${DEPLOYWATCH_FAIL_ON}'; expected any, critical or never"
    exit 3
    ;;
esac

# The args input as shell words (quotes respected, nothing executed): Python's shlex, one word per NUL.
args=()
if [[ -n "${DEPLOYWATCH_ARGS:-}" ]]; then
  split='import os, shlex, sys; sys.stdout.write("".join(w + "\0" for w in shlex.split(os.environ["DEPLOYWATCH_ARGS"])))'
  if ! "${DEPLOYWATCH_BIN}/python" -c "$split" > /dev/null 2>&1; then
    echo "::error title=deploywatch action::input 'args' is not valid shell words: ${DEPLOYWATCH_ARGS}"
    exit 3
  fi
  mapfile -d '' -t args < <("${DEPLOYWATCH_BIN}/python" -c "$split")
fi
if [[ -n "${DEPLOYWATCH_CONFIG_INPUT:-}" ]]; then
  export DEPLOYWATCH_CONFIG="$DEPLOYWATCH_CONFIG_INPUT"
fi

has_format=false
for word in "${args[@]}"; do
  [[ "$word" == --format || "$word" == --format=* ]] && has_format=true
done

status=0
if $has_format; then
  "$deploywatch" "$command" "${args[@]}" || status=$?
else
  case "$command" in
    drift | affected | check | canary | gate)
      # annotations on stdout, the Markdown summary to $GITHUB_STEP_SUMMARY, outputs to $GITHUB_OUTPUT
      "$deploywatch" "$command" "${args[@]}" --format github || status=$?
      ;;
    report)
      # the report is the job summary, cut to GitHub's 1 MiB limit with a note (deploywatch.core.ci)
      markdown="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploywatch-report.md"
      "$deploywatch" report "${args[@]}" --format markdown > "$markdown" || status=$?
      cat "$markdown"
      if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        "${DEPLOYWATCH_BIN}/python" -c 'import sys; from deploywatch.core.ci import write_summary; write_summary(sys.stdin.read())' < "$markdown"
      fi
      ;;
    deploy)
      "$deploywatch" deploy "${args[@]}" || status=$?
      ;;
  esac
fi

echo "exit-code=$status" >> "$GITHUB_OUTPUT"
case "${DEPLOYWATCH_FAIL_ON:-any}" in
  never) exit 0 ;;
  critical) [[ $status -le 1 ]] && exit 0 ;;
esac
exit "$status"
