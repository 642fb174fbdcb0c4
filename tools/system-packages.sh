#!/usr/bin/env bash
# What `make test` needs from the machine besides Python 3.11, git and make:
#   chromium, chromium-driver   the browser tests of the book (Debian's packages)
#   postgresql                   the PostgreSQL gradebook test (a real server, started by the test)
#   setpriv (util-linux)         the sandbox, when the tests run as root
# It installs what is missing with apt-get (as root, or with a sudo that needs no password),
# or stops at once with one line that says what to install and why.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ "$(id -u)" -eq 0 ] && [ ! -x /usr/bin/setpriv ]; then need+=(util-linux); fi

if [ "$(id -u)" -ne 0 ] && ! unshare --user --map-root-user true >/dev/null 2>&1; then
  echo "make test: the grading sandbox (bubblewrap) needs unprivileged user namespaces on this machine: enable them (sysctl -w kernel.unprivileged_userns_clone=1, or user.max_user_namespaces > 0) or run as root" >&2
  exit 1
fi
[ ${#need[@]} -eq 0 ] && exit 0

why="Chromium for the browser tests, PostgreSQL for the gradebook test"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  sudo="sudo -n"
else
  echo "make test needs the Debian packages ${need[*]} ($why): run 'sudo apt-get install ${need[*]}', then make test again" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "make test needs ${need[*]} ($why) and this machine has no apt-get: install them with its package manager" >&2
  exit 1
fi
echo "installing ${need[*]} ($why)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
