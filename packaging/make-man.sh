#!/usr/bin/env bash
# Writes rsm(1) in roff from the binary's own --help texts, so the man page never disagrees
# with the program.   packaging/make-man.sh RSM_BINARY OUT_FILE VERSION
set -euo pipefail
rsm=$1
out=$2
version=$3

# roff-escape a help text: backslashes, and lines starting with '.' or '\''.
escape() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

{
  printf '.TH RSM 1 "" "rsm %s" "User Commands"\n' "$version"
  printf '.SH NAME\nrsm \\- a single-master Redis service: proxy, controller, watch, status, local stack\n'
  printf '.SH SYNOPSIS\n.B rsm\n.I command\n.RI [ options ]\n'
  printf '.SH DESCRIPTION\n.nf\n'
  "$rsm" --help | escape
  printf '.fi\n'
  printf '.SH CONFIGURATION\nEvery option can also be set in the environment as RSM_<OPTION> (upper case, dashes\nas underscores), or in an INI file given with \\-\\-config (see /etc/rsm/rsm.ini).\nPrecedence: command line > environment > file > defaults.\n'
  printf '.SH COMMANDS\n'
  for cmd in proxy ctl watch status up lainlet version; do
    printf '.SS "rsm %s"\n.nf\n' "$cmd"
    "$rsm" "$cmd" --help | escape
    printf '.fi\n'
  done
  printf '.SH EXIT STATUS\n0 success; 2 a usage error; rsm status: 0 healthy, 1 degraded, 2 no usable master.\n'
  printf '.SH SEE ALSO\n.BR redis-server (1),\n.BR redis-sentinel (1),\n.BR redis-cli (1)\n'
} > "$out"
