#!/usr/bin/env bash
# What the tests need from the machine besides Python 3.11, git and make:
#   chromium, chromium-driver   the browser tests of the book (Debian's packages)
#   postgresql                   the PostgreSQL gradebook test (a real server, started by the test)
#   setpriv (util-linux)         the grading sandbox, when the tests run as root
#   libseccomp2                  the grading sandbox's system-call filter (through pyseccomp)
#   user namespaces              the grading sandbox, when they do not
# It installs what is missing with apt-get (as root, or with a sudo that asks no password),
# or stops at once with one line that says what to install and why.
#   tools/system-packages.sh           everything `make test` needs
#   tools/system-packages.sh sandbox   only what the sandbox needs (`make check`)
set -euo pipefail

target="make test"
need=() why=()
if [ "${1:-}" = sandbox ]; then
  target="make check"
else
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then need+=("${missing[@]}"); why+=("Chromium for the browser tests of the book"); fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql); why+=("PostgreSQL for the gradebook test")
  fi
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then
  need+=(libseccomp2); why+=("libseccomp2 for the sandbox's system-call filter")
fi
if [ "$(id -u)" -eq 0 ]; then
  if ! command -v setpriv >/dev/null 2>&1; then need+=(util-linux); why+=("setpriv for the sandbox as root"); fi
elif ! unshare --user --map-root-user true >/dev/null 2>&1; then
  echo "$target: the grading sandbox (bubblewrap) needs a user namespace and this user may not create one (unshare --user fails): allow it (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; in a container, one that permits nested user namespaces) or run as root" >&2
  exit 1
fi
[ ${#need[@]} -eq 0 ] && exit 0

because=$(IFS=";"; echo "${why[*]}" | sed 's/;/, /g')
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  sudo="sudo -n"
else
  echo "$target needs the Debian packages ${need[*]} ($because): run 'sudo apt-get install ${need[*]}', then $target again" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$target needs ${need[*]} ($because) and this machine has no apt-get: install them with its package manager, then $target again" >&2
  exit 1
fi
echo "$target: installing ${need[*]} ($because)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
